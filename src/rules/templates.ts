/**
 * Templates in rule files: LiquidJS, which runs no code from rule files. One engine
 * configuration for the whole daemon: no file system (`include`, `render` and `layout`
 * are rejected when the template is parsed), unknown filters are errors, and every render
 * is bounded in time, work and output size. Templates are parsed once and rendered many
 * times; the `date` filter formats in the time zone given to each render.
 */
import { Liquid, Tag, type TagToken, type Template, type TopLevelToken } from 'liquidjs';
import { RulebotError } from '../shared/errors';

// === Limits ===

/** Longest template text accepted. */
export const MAX_TEMPLATE_LENGTH = 20_000;
/** Longest rendered output accepted (characters). */
export const MAX_OUTPUT_LENGTH = 64 * 1024;
/** Tags and outputs rendered by one render: bounds loops. */
const TEMPLATE_RENDER_LIMIT = 10_000;
/** Milliseconds one render may take. */
const RENDER_TIME_LIMIT_MS = 1_000;
/** liquidjs's allocation budget for one render (array joins, string building). */
const RENDER_MEMORY_LIMIT = 10_000_000;

// === Context ===

/**
 * The names a template can start from. Which are set depends on the trigger and the
 * action: `message` for message triggers, `item` for watch triggers and inside forEach,
 * `request` in an audit, `target` while a send or group action works through its
 * targets, `window` for window triggers. docs/rules.md describes each.
 */
export const TEMPLATE_ROOTS = ['trigger', 'message', 'item', 'request', 'vars', 'steps', 'now', 'rule', 'target', 'window'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

/** What a template renders against. `now` should be a Date: the `date` filter formats it. */
export type TemplateContext = Partial<Record<TemplateRoot, unknown>> & Record<string, unknown>;

export interface RenderOptions {
  /** IANA time zone the `date` filter formats in; the process's local zone when absent. */
  timezone?: string;
}

// === Errors ===

export class TemplateError extends RulebotError {
  /** 1-based position inside the template text, where liquid reports one. */
  readonly line?: number;
  readonly col?: number;

  constructor(code: 'TEMPLATE_INVALID' | 'TEMPLATE_RENDER', message: string, template: string, position?: { line: number; col: number }) {
    super(code, message, { template, ...position });
    this.line = position?.line;
    this.col = position?.col;
  }
}

// === Engine ===

/** Parses a tag that would read files, only to refuse it. */
class FileTagRefused extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(`the ${token.name} tag is not available in rule templates (they cannot read files)`);
  }

  *render(): Generator<unknown, void, unknown> {
    // Never reached: the constructor throws.
  }
}

function createEngine(timezone: string | undefined, keepOutputType: boolean): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // An empty in-memory store: nothing is ever looked up on disk.
    templates: {},
    parseLimit: MAX_TEMPLATE_LENGTH,
    renderLimit: RENDER_TIME_LIMIT_MS,
    memoryLimit: RENDER_MEMORY_LIMIT,
    keepOutputType,
    ...(timezone ? { timezoneOffset: timezone } : {}),
  });
  for (const name of ['include', 'render', 'layout']) engine.registerTag(name, FileTagRefused);
  return engine;
}

/** Parses every template; renders go to the engine of their time zone. */
const parser = createEngine(undefined, false);
const renderers = new Map<string, Liquid>();

function rendererFor(timezone: string | undefined, keepOutputType: boolean): Liquid {
  const key = `${timezone ?? ''}|${keepOutputType}`;
  let engine = renderers.get(key);
  if (!engine) {
    engine = createEngine(timezone, keepOutputType);
    renderers.set(key, engine);
  }
  return engine;
}

// === Parse and render ===

/** A template ready to render. Plain text (no `{{` or `{%`) is kept as is and never parsed. */
export interface ParsedTemplate {
  readonly source: string;
  /** liquid's parse; absent for plain text. */
  readonly liquid?: Template[];
}

const TEMPLATE_MARK = /\{\{|\{%/;

/** Whether a string holds template syntax at all. */
export function isTemplateText(text: string): boolean {
  return TEMPLATE_MARK.test(text);
}

const parseCache = new Map<string, ParsedTemplate>();
const PARSE_CACHE_SIZE = 5_000;

/**
 * Parses a template. Throws TemplateError (TEMPLATE_INVALID) with liquid's message and the
 * line and column inside the template where liquid gives them.
 */
export function parseTemplate(text: string): ParsedTemplate {
  if (!isTemplateText(text)) return { source: text };
  const cached = parseCache.get(text);
  if (cached) return cached;
  let parsed: ParsedTemplate;
  try {
    parsed = { source: text, liquid: parser.parse(text) };
  } catch (err) {
    throw templateError('TEMPLATE_INVALID', err, text);
  }
  if (parseCache.size >= PARSE_CACHE_SIZE) parseCache.clear();
  parseCache.set(text, parsed);
  return parsed;
}

/** Renders a template to text. Throws TemplateError (TEMPLATE_RENDER) when a bound is hit. */
export function renderTemplate(parsed: ParsedTemplate, context: TemplateContext, options: RenderOptions = {}): string {
  if (!parsed.liquid) return parsed.source;
  const output = runTemplate(parsed, context, options, false);
  return typeof output === 'string' ? output : String(output ?? '');
}

/**
 * Renders a template, keeping the type of the value when the template is one lone output:
 * `"{{ steps.members }}"` gives the list itself, `"{{ window.inside }}"` a boolean.
 * Anything else renders to text, like renderTemplate.
 */
export function evaluateTemplate(parsed: ParsedTemplate, context: TemplateContext, options: RenderOptions = {}): unknown {
  if (!parsed.liquid) return parsed.source;
  return runTemplate(parsed, context, options, parsed.liquid.length === 1);
}

/**
 * Renders every string inside a value (maps and lists walked), leaving other values as
 * they are: for `request.data` and `set`.
 */
export function renderDeep(value: unknown, context: TemplateContext, options: RenderOptions = {}): unknown {
  if (typeof value === 'string') return evaluateTemplate(parseTemplate(value), context, options);
  if (Array.isArray(value)) return value.map((item) => renderDeep(item, context, options));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderDeep(item, context, options)]));
  }
  return value;
}

/**
 * The variable paths a template reads from its context, e.g. `[['steps', 'verdict',
 * 'verdict'], ['now']]`; names the template defines itself (`assign`, `for`) are left out.
 */
export function templateReferences(parsed: ParsedTemplate): Array<Array<string | number>> {
  if (!parsed.liquid) return [];
  try {
    return parser.globalVariableSegmentsSync(parsed.liquid) as Array<Array<string | number>>;
  } catch {
    // Static analysis does not cover every construct; a template it cannot read is not an error.
    return [];
  }
}

function runTemplate(parsed: ParsedTemplate, context: TemplateContext, options: RenderOptions, keepOutputType: boolean): unknown {
  const engine = rendererFor(options.timezone, keepOutputType);
  let output: unknown;
  try {
    output = engine.renderSync(parsed.liquid as Template[], context, { templateLimit: TEMPLATE_RENDER_LIMIT });
  } catch (err) {
    throw templateError('TEMPLATE_RENDER', err, parsed.source);
  }
  if (typeof output === 'string' && output.length > MAX_OUTPUT_LENGTH) {
    throw new TemplateError('TEMPLATE_RENDER', `template output is longer than ${MAX_OUTPUT_LENGTH} characters`, parsed.source);
  }
  return output;
}

function templateError(code: 'TEMPLATE_INVALID' | 'TEMPLATE_RENDER', err: unknown, text: string): TemplateError {
  const raw = err instanceof Error ? err.message : String(err);
  // liquid appends ", line:1, col:5" to its messages; the position is kept separately.
  const message = raw.replace(/, line:\d+, col:\d+$/, '');
  const position = liquidPosition(err);
  return new TemplateError(code, message, text, position);
}

function liquidPosition(err: unknown): { line: number; col: number } | undefined {
  const token = (err as { token?: { getPosition?: () => [number, number] } } | null)?.token;
  if (!token || typeof token.getPosition !== 'function') return undefined;
  const [line, col] = token.getPosition();
  return { line, col };
}
