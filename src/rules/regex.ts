/**
 * Regular expressions from rule files. They run on every incoming message, so they are
 * compiled with re2js: matching is linear in the input, and no pattern can stall the
 * daemon (ReDoS is impossible by construction). The price is RE2's syntax: no
 * backreferences and no lookarounds, which are rejected at load with that reason.
 */
import { RE2JS } from 're2js';
import { RulebotError } from '../shared/errors';

/** Flags a rule may give: i (ignore case), m (^ and $ at line ends), s (. matches newline). */
export const REGEX_FLAGS = 'ims';

export class RegexError extends RulebotError {
  constructor(pattern: string, reason: string) {
    // The pattern is shown as written in the rule, not JSON-escaped: `\1`, not `\\1`.
    super('REGEX_INVALID', `invalid regex "${pattern}": ${reason}`, { pattern, reason });
  }

  get reason(): string {
    return String(this.details.reason);
  }
}

/** A compiled pattern. `test` finds a match anywhere in the text, like RegExp.prototype.test. */
export interface CompiledRegex {
  readonly source: string;
  readonly flags: string;
  test(text: string): boolean;
  /** The first match and its numbered groups (null for a group that took no part), or null. */
  exec(text: string): Array<string | null> | null;
}

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
};

/** Compiles a pattern; throws RegexError naming the reason, e.g. a backreference. */
export function compileRegex(pattern: string, flags = ''): CompiledRegex {
  let bits = 0;
  for (const flag of flags) {
    const bit = FLAG_BITS[flag];
    if (bit === undefined) throw new RegexError(pattern, `unknown flag "${flag}" (use any of ${REGEX_FLAGS.split('').join(', ')})`);
    bits |= bit;
  }
  const unsupported = unsupportedConstruct(pattern);
  if (unsupported) throw new RegexError(pattern, unsupported);
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, bits);
  } catch (err) {
    throw new RegexError(pattern, err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err));
  }
  return {
    source: pattern,
    flags,
    test: (text) => re.matcher(text).find(),
    exec: (text) => {
      const matcher = re.matcher(text);
      if (!matcher.find()) return null;
      const groups: Array<string | null> = [];
      for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i));
      return groups;
    },
  };
}

/**
 * Names the constructs RE2 cannot run in linear time, with the reason, before RE2's own
 * parser reports them as a bare "invalid escape sequence".
 */
function unsupportedConstruct(pattern: string): string | undefined {
  // Skip escaped characters and character classes, where these sequences mean nothing special.
  const stripped = pattern.replace(/\[(?:\\.|[^\]\\])*\]/g, '[]');
  const reason = 'RE2 (linear-time matching) does not support it; rewrite the pattern without it';
  if (/(?<!\\)(?:\\\\)*\\[1-9]/.test(stripped) || /(?<!\\)(?:\\\\)*\\k</.test(stripped)) return `backreferences are not supported: ${reason}`;
  if (/\(\?<?[=!]/.test(stripped)) return `lookahead and lookbehind are not supported: ${reason}`;
  return undefined;
}
