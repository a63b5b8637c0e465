/**
 * Tag rows as table cells (k9s `render`): pure, sized to the terminal width. Columns that do not fit
 * are dropped from the right, least useful first.
 */
import type { TagRow } from "../models/tags.ts";

/** A table column. */
export interface Column {
  title: string;
  width: number;
}

/** Cuts `s` to `w` columns with an ellipsis; pads it to `w`. */
export function fit(s: string, w: number): string {
  if (w <= 0) return "";
  const chars = [...s];
  if (chars.length > w) return w === 1 ? "…" : chars.slice(0, w - 1).join("") + "…";
  return s + " ".repeat(w - chars.length);
}

/** `sha256:0123456789ab` (12 hex digits, as docker prints short ids). */
export function shortDigest(d: string): string {
  const [alg, hex] = d.split(":");
  return hex ? `${alg}:${hex.slice(0, 12)}` : d;
}

/** `2024-05-01 12:00` from an RFC 3339 time; the input when it does not parse. */
export function shortTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(t);
  return m ? `${m[1]} ${m[2]}` : t;
}

/** Columns for a terminal `width` wide (the 2-column selection marker not included). */
export function tagColumns(width: number, rows: readonly TagRow[]): Column[] {
  const tagW = Math.min(28, Math.max(8, ...rows.map((r) => [...r.tag].length + (r.group === "member" ? 2 : 0) + (r.groupSize ? 4 : 0))));
  const cols: Column[] = [
    { title: "TAG", width: tagW },
    { title: "DIGEST", width: 19 },
    { title: "CREATED", width: 16 },
    { title: "REVISION", width: 24 },
  ];
  const total = () => cols.reduce((a, c) => a + c.width, 0) + cols.length - 1;
  const avail = width - 2;
  // Wide terminals get SOURCE; narrow ones shrink REVISION, then lose CREATED.
  if (avail - total() - 1 >= 12) cols.push({ title: "SOURCE", width: avail - total() - 1 });
  else if (total() > avail) {
    const rev = cols[3]!;
    rev.width = Math.max(8, rev.width - (total() - avail));
    if (total() > avail) {
      cols.splice(2, 1);
      rev.width = Math.max(8, rev.width + (avail - total()));
    }
  }
  return cols;
}

/** Cell texts of one row for the given columns. */
export function tagCells(r: TagRow, cols: readonly Column[], loading: string): string[] {
  const tag = r.group === "member" ? `└ ${r.tag}` : r.groupSize ? `${r.tag} (${r.groupSize})` : r.tag;
  return cols.map((c) => {
    switch (c.title) {
      case "TAG":
        return fit(tag, c.width);
      case "DIGEST":
        return fit(r.error ? "error" : r.info ? shortDigest(r.info.digest) : loading, c.width);
      case "CREATED":
        return fit(r.info ? shortTime(r.info.created) : "", c.width);
      case "REVISION":
        return fit(r.info?.revision ?? (r.error ? r.error : ""), c.width);
      case "SOURCE":
        return fit(r.info?.source ?? "", c.width);
      default:
        return fit("", c.width);
    }
  });
}
