import { expect, test } from "bun:test";
import { diffTrees } from "../../../../src/core/index.ts";
import { memoryTreeReader } from "../../../../src/core/diff/index.ts";
import { createDiffView, diffViewReducer, patchLines, summaryText, toEntries } from "../../../../src/tui/models/diff-view.ts";
import { deployment as deploy } from "../fixtures.ts";


async function sample() {
  const a = memoryTreeReader({ "deploy.yaml": deploy("ghcr.io/x/web:1.0.0", 1), "README.md": "old\n", "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n" });
  const b = memoryTreeReader({ "deploy.yaml": deploy("ghcr.io/x/web:1.1.0", 3), "README.md": "new\n" });
  return diffTrees(a, b);
}

test("entries: changed objects with the engine's highlights first, then plain files", async () => {
  const entries = toEntries(await sample());
  expect(entries.map((e) => `${e.mark} ${e.title}`)).toEqual(["D ConfigMap gone", "~ Deployment web (namespace prod)", "M README.md"]);
  const dep = entries[1]!;
  expect(dep.highlights).toContain("replicas 1 → 3");
  expect(dep.highlights).toContain("image ghcr.io/x/web:1.0.0 → 1.1.0");
  expect(dep.unified).toContain("+  replicas: 3");
});

test("summary line counts files and objects", async () => {
  expect(summaryText(await sample())).toBe("3 files changed (1 removed, 2 modified); 2 objects: 1 changed, 1 removed");
});

test("moving in the list selects another patch and resets its scroll; the patch scrolls within bounds", async () => {
  let s = createDiffView(await sample(), 3, 4);
  expect(patchLines(s)[0]).toBe("--- a/cm.yaml");
  s = diffViewReducer(s, { kind: "list", action: { kind: "move", delta: 1 } });
  expect(patchLines(s).join("\n")).toContain("-  replicas: 1");
  s = diffViewReducer(diffViewReducer(s, { kind: "open" }), { kind: "scroll", delta: 2 });
  expect(s.focus).toBe("patch");
  expect(s.patchOffset).toBe(2);
  s = diffViewReducer(s, { kind: "scrollTo", where: "bottom" });
  expect(s.patchOffset).toBe(patchLines(s).length - 4);
  s = diffViewReducer(s, { kind: "scroll", delta: 100 });
  expect(s.patchOffset).toBe(patchLines(s).length - 4);
  s = diffViewReducer(diffViewReducer(s, { kind: "close" }), { kind: "list", action: { kind: "move", delta: 1 } });
  expect(s.patchOffset).toBe(0);
  expect(s.focus).toBe("list");
});
