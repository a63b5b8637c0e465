import { Box, Text } from "ink";
import { useMemo } from "react";
import { useAppApi } from "../app-context.ts";
import Table from "../components/Table.tsx";
import useKeys from "../hooks/use-keys.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, GLOBAL, KEYMAPS, tableAction } from "../keymap.ts";
import { pageTitle, type Page } from "../models/page-stack.ts";
import { fit } from "../render/tag-row.ts";

/** Props of {@link HelpView}. */
export interface HelpViewProps {
  readonly active: boolean;
  /** The screen whose keys to list. */
  readonly page?: Page;
}

/** `?`: every key of the screen below and the global keys, from the same tables the handlers use. */
export default function HelpView({ active, page }: HelpViewProps) {
  const app = useAppApi();
  // A global key a screen also lists (for its footer) is shown once.
  const bindings = useMemo(() => {
    const own = page ? KEYMAPS[page.kind] : [];
    return [...own, ...GLOBAL.filter((g) => !own.some((b) => b.action === g.action && b.label === g.label))];
  }, [page]);
  const keys = useMemo(() => bindings.map((b, i) => `${i}:${b.label}`), [bindings]);
  const [table, move] = useTable(keys, Math.max(1, app.height - 2));
  useKeys((name) => {
    const t = tableAction(actionFor(KEYMAPS.help, name));
    if (t) move(t);
    return Boolean(t);
  }, active);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {fit(`Keys of ${page ? pageTitle(page) : "berth"}`, app.width)}
      </Text>
      <Table
        header={`${fit("KEY", 12)} ACTION`}
        state={table}
        width={app.width}
        theme={app.theme}
        row={(i) => ({ key: keys[i]!, text: `${fit(bindings[i]!.label, 12)} ${bindings[i]!.hint}` })}
      />
    </Box>
  );
}
