/**
 * The application shell: page stack, header (breadcrumb), body (the top page's view), footer (key
 * hints, flash messages or the prompt). It owns the only `useInput`, so exactly one handler sees
 * each key: the prompt when open, else the visible view, else the global bindings.
 */
import { Box, Text, useApp, useInput, useWindowSize } from "ink";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { AppContext, type AppApi, type KeyHandler, type PromptRequest } from "./app-context.ts";
import Footer from "./components/Footer.tsx";
import Prompt from "./components/Prompt.tsx";
import { actionFor, GLOBAL, KEYMAPS, keyName } from "./keymap.ts";
import { atRoot, createStack, pageTitle, stackReducer, top, type Page } from "./models/page-stack.ts";
import { fit } from "./render/tag-row.ts";
import { COLOR_THEME, MONO_THEME } from "./render/theme.ts";
import { ServicesContext, type TuiServices } from "./services.ts";
import { parseRepo, repoURL, errorMessage } from "./api.ts";
import { parseArtifactURL } from "../core/index.ts";
import Screen from "./views/Screen.tsx";

/** Props of {@link App}. */
export interface AppProps {
  readonly services: TuiServices;
  /** Pages to start with, root first (e.g. repositories, then the tags of the repository given on the command line). */
  readonly initial: readonly Page[];
  /** Repository URLs given on the command line, listed first on the Repositories screen. */
  readonly repositories?: readonly string[];
  /** False honours NO_COLOR. Default true. */
  readonly color?: boolean;
  /** Fixed size instead of the terminal's (tests). */
  readonly size?: { columns: number; rows: number };
}

const FLASH_MS = 4000;

/** `:` commands that open the Cluster screen (kubectl's names of the resource). */
const CLUSTER_COMMANDS = new Set(["ocirepositories", "ocirepository", "ocirepo", "ocirepos"]);

/** The berth TUI. */
export default function App({ services, initial, repositories = [], color = true, size }: AppProps) {
  const { exit } = useApp();
  const win = useWindowSize();
  const columns = size?.columns ?? win.columns;
  const rows = size?.rows ?? win.rows;
  const [stack, dispatch] = useReducer(stackReducer, undefined, () => createStack(initial[0] ?? { kind: "repos" }, ...initial.slice(1)));
  const [prompt, setPrompt] = useState<{ req: PromptRequest; value: string } | undefined>();
  const [flash, setFlash] = useState<{ message: string; kind: "info" | "error" } | undefined>();
  const [hints, setHints] = useState<readonly string[] | undefined>();
  const keys = useRef<KeyHandler | undefined>(undefined);
  const flashTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const page = top(stack);
  const theme = color ? COLOR_THEME : MONO_THEME;
  const bodyHeight = Math.max(3, rows - 2);

  useEffect(() => () => clearTimeout(flashTimer.current), []);

  const api: AppApi = useMemo(
    () => ({
      push: (p) => dispatch({ kind: "push", page: p }),
      pop: () => dispatch({ kind: "pop" }),
      replace: (p) => dispatch({ kind: "replace", page: p }),
      flash: (message, kind = "info") => {
        clearTimeout(flashTimer.current);
        setFlash({ message, kind });
        flashTimer.current = setTimeout(() => setFlash(undefined), FLASH_MS);
      },
      prompt: (req) => setPrompt({ req, value: req.initial ?? "" }),
      setKeys: (h) => {
        keys.current = h;
      },
      setHints,
      theme,
      width: columns,
      height: bodyHeight,
    }),
    [theme, columns, bodyHeight],
  );

  const openRepository = useCallback(
    (url: string) => {
      try {
        const ref = parseArtifactURL(url);
        const repo = repoURL(parseRepo(url));
        dispatch({ kind: "jump", page: { kind: "tags", repo } });
        const tag = ref.tag ?? ref.digest;
        if (tag) dispatch({ kind: "push", page: { kind: "artifact", repo, tag } });
        services.history.add(repo).catch(() => {});
      } catch (e) {
        api.flash(errorMessage(e), "error");
      }
    },
    [api, services],
  );

  // The prompt is also kept in a ref so that several keys arriving in one chunk see each other's effect.
  const promptRef = useRef(prompt);
  promptRef.current = prompt;
  const setPromptNow = (p: typeof prompt) => {
    promptRef.current = p;
    setPrompt(p);
  };

  const handlePromptKey = (name: string, input: string) => {
    const { req, value } = promptRef.current!;
    if (name === "enter") {
      setPromptNow(undefined);
      req.onSubmit(value);
    } else if (name === "esc" || name === "ctrl+c") {
      setPromptNow(undefined);
      req.onCancel?.();
    } else if (name === "backspace" || name === "ctrl+h") {
      const v = value.slice(0, -1);
      setPromptNow({ req, value: v });
      req.onChange?.(v);
    } else if (name === "ctrl+u") {
      setPromptNow({ req, value: "" });
      req.onChange?.("");
    } else if (!name.includes("+") && input && !["tab", "up", "down", "left", "right", "pgup", "pgdn", "home", "end"].includes(name)) {
      const v = value + input.replace(/[\r\n]/g, "");
      setPromptNow({ req, value: v });
      req.onChange?.(v);
    }
  };

  const handleKey = (name: string, input: string) => {
    if (promptRef.current) return handlePromptKey(name, input);
    if (keys.current?.(name, input)) return;
    switch (actionFor(GLOBAL, name)) {
      case "help":
        if (page.kind !== "help") dispatch({ kind: "push", page: { kind: "help" } });
        return;
      case "back":
        if (atRoot(stack)) exit();
        else dispatch({ kind: "pop" });
        return;
      case "quit":
        exit();
        return;
      case "cluster":
        dispatch({ kind: "focus", page: { kind: "cluster" } });
        return;
      case "command":
        setPromptNow({
          req: {
            label: ":",
            onSubmit: (v) => {
              const cmd = v.trim();
              // The prompt starts with oci://, which a typed resource name follows.
              if (CLUSTER_COMMANDS.has(cmd.replace(/^oci:\/\//, ""))) dispatch({ kind: "focus", page: { kind: "cluster" } });
              else if (cmd) openRepository(cmd);
            },
          },
          value: "oci://",
        });
        return;
    }
  };

  // Keys typed fast (or sent by tmux) can arrive as one chunk: outside the prompt each is its own key
  // press, handled one per tick so that every key sees the screen its predecessor left.
  const handleRef = useRef(handleKey);
  handleRef.current = handleKey;
  const queue = useRef<[string, string][]>([]);
  const pumping = useRef(false);
  const pump = () => {
    const next = queue.current.shift();
    if (!next) {
      pumping.current = false;
      return;
    }
    handleRef.current(next[0], next[1]);
    setTimeout(pump, 0);
  };
  useInput((input, key) => {
    if (!promptRef.current && input.length > 1 && !key.ctrl && !key.meta && !input.includes("\x1b")) {
      for (const ch of input) queue.current.push([ch === "\r" || ch === "\n" ? "enter" : keyName(ch, {}), ch]);
    } else queue.current.push([keyName(input, key), input]);
    if (!pumping.current) {
      pumping.current = true;
      pump();
    }
  });

  const crumbs = ["berth", ...stack.pages.filter((p) => p.kind !== "help" || p === page).map(pageTitle)].join(" › ");

  return (
    <AppContext.Provider value={api}>
      <ServicesContext.Provider value={services}>
        <Box flexDirection="column" width={columns} height={rows}>
          <Text bold color={theme.accent} wrap="truncate">
            {fit(crumbs.length > columns ? "…" + crumbs.slice(crumbs.length - columns + 1) : crumbs, columns)}
          </Text>
          {stack.pages.map((p, i) => (
            // Pages below the top stay mounted (hidden), so going back finds them as they were.
            <Box key={`${i}:${pageTitle(p)}`} flexDirection="column" height={bodyHeight} overflow="hidden" display={p === page ? "flex" : "none"}>
              <Screen page={p} active={p === page && !prompt} helpFor={p.kind === "help" ? stack.pages[i - 1] : undefined} repositories={repositories} openRepository={openRepository} />
            </Box>
          ))}
          {prompt ? <Prompt label={prompt.req.label} value={prompt.value} width={columns} theme={theme} secret={prompt.req.secret} /> : <Footer bindings={KEYMAPS[page.kind].filter((b) => !hints || hints.includes(b.action))} global={GLOBAL} width={columns} theme={theme} flash={flash} />}
        </Box>
      </ServicesContext.Provider>
    </AppContext.Provider>
  );
}
