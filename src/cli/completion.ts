import type { Command } from "commander";
import { CoreError } from "../core/errors.ts";
import type { Streams } from "./output.ts";

interface Node {
  path: string[];
  flags: string[];
  subs: string[];
}

function walk(cmd: Command, path: string[] = []): Node[] {
  const subs = cmd.commands.map((c) => c.name());
  const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
  return [{ path, flags, subs }, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

/** Prints a completion script generated from the command tree, so it cannot drift from the real flags. */
export async function run(shell: string, program: Command, s: Streams): Promise<number> {
  const nodes = walk(program);
  if (shell === "bash" || shell === "zsh") {
    const cases = nodes
      .map((n) => `    "${n.path.join(" ")}") words="${[...n.subs, ...n.flags].join(" ")}" ;;`)
      .join("\n");
    const body = `# berth ${shell} completion
_berth_complete() {
  local cur path="" w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for ((i=1; i<COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) ;; *) if [ -z "$path" ]; then path="$w"; else path="$path $w"; fi ;; esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
${shell === "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" : ""}complete -o default -F _berth_complete berth
`;
    s.out.write(body);
    return 0;
  }
  if (shell === "fish") {
    const lines = ["# berth fish completion"];
    for (const n of nodes) {
      const cond = n.path.length === 0 ? "__fish_use_subcommand" : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}`;
      for (const sub of n.subs) lines.push(`complete -c berth -f -n '${cond}' -a ${sub}`);
      for (const f of n.flags.filter((x) => x.startsWith("--"))) lines.push(`complete -c berth -n '${cond}' -l ${f.slice(2)}`);
    }
    s.out.write(lines.join("\n") + "\n");
    return 0;
  }
  throw new CoreError({ code: "USAGE", message: `unsupported shell "${shell}": use bash, zsh or fish` });
}
