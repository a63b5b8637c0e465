/**
 * Line-by-line YAML highlighting for the file viewer: comments, keys, strings, numbers and booleans,
 * document markers. A tokenizer and not a parser on purpose: it must never fail on broken or
 * templated YAML, and it colours a 10k-line file instantly.
 */

/** A piece of a line with the role that colours it. */
export interface Segment {
  text: string;
  role?: "key" | "string" | "number" | "comment" | "marker";
}

const KEY = /^(\s*(?:-\s+)*)([^\s#'"{}\[\],][^:#]*?|"[^"]*"|'[^']*')(:)(\s|$)/;
const SCALAR_NUMBER = /^-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|0x[0-9a-f]+)$/i;
const SCALAR_WORD = /^(?:true|false|null|~|yes|no|on|off)$/i;

function valueSegments(v: string): Segment[] {
  const comment = findComment(v);
  const body = comment >= 0 ? v.slice(0, comment) : v;
  const rest = comment >= 0 ? v.slice(comment) : "";
  const trimmed = body.trim();
  const out: Segment[] = [];
  if (trimmed === "") out.push({ text: body });
  else {
    const lead = body.slice(0, body.indexOf(trimmed));
    const tail = body.slice(lead.length + trimmed.length);
    if (lead) out.push({ text: lead });
    const role: Segment["role"] =
      /^["']/.test(trimmed) ? "string" : SCALAR_NUMBER.test(trimmed) || SCALAR_WORD.test(trimmed) ? "number" : /^[|>&*!]/.test(trimmed) ? "marker" : "string";
    out.push({ text: trimmed, role });
    if (tail) out.push({ text: tail });
  }
  if (rest) out.push({ text: rest, role: "comment" });
  return out;
}

/** Index of a `#` that starts a comment (outside quotes, after whitespace or at the start), or -1. */
function findComment(s: string): number {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]!))) return i;
  }
  return -1;
}

/** Splits one YAML line into coloured segments; joining the texts gives the line back. */
export function highlightYamlLine(line: string): Segment[] {
  if (/^\s*#/.test(line)) return [{ text: line, role: "comment" }];
  if (/^(---|\.\.\.)(\s|$)/.test(line)) return [{ text: line, role: "marker" }];
  const m = KEY.exec(line);
  if (m) {
    const [all, lead, key, colon] = m as unknown as [string, string, string, string];
    const after = line.slice(all.length - (m[4] ?? "").length);
    return [...(lead ? [{ text: lead }] : []), { text: key, role: "key" as const }, { text: colon }, ...(after ? valueSegments(after) : [])];
  }
  const item = /^(\s*-\s+)(.*)$/.exec(line);
  if (item) return [{ text: item[1]! }, ...valueSegments(item[2]!)];
  return line ? valueSegments(line) : [{ text: "" }];
}

/** True for paths the viewer highlights as YAML. */
export function isYaml(path: string): boolean {
  return /\.(ya?ml)$/i.test(path);
}
