// Configuration: finding, reading, checking and resolving config.yaml.

// === Reading ===
export { loadConfig, parseConfigText, resolveConfigPath, CONFIG_ENV, DEFAULT_CONFIG_FILE, EXAMPLE_CONFIG_FILE } from './load';
export type { ConfigLocation, ConfigPathOptions } from './load';
export { ConfigError, type ConfigErrorCode } from './errors';

// === The resolved config ===
export { SIM_URL } from './types';
export type { Config, BridgeConfig, SimConfig, HttpConfig, FriendRequestsConfig } from './types';
export { CONFIG_DEFAULTS, systemTimeZone } from './resolve';

// === The file's shape (for tools that generate docs or editor schemas) ===
export { ConfigFileSchema, type ConfigFile } from './schema';
