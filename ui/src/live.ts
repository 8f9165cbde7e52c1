// Live events: the WebSocket `/api/v1/events` of store changes. It reconnects by itself and
// resumes after the last revision seen; a `resync` (missed changes, a database import)
// tells every listener to reload. The suppress mode ("Suppress table updates") is tracked so
// tables can show their refresh control when their updates are held back.

/** One record change. */
export interface Change {
  rev: number;
  entity: string;
  id: number;
  op: "put" | "delete";
}

type Listener = (change: Change | null) => void;

const listeners = new Set<Listener>();
const suppressListeners = new Set<(mode: string) => void>();
let socket: WebSocket | null = null;
let lastRev: number | null = null;
let backoff = 500;
let stopped = true;
/** The suppress mode in force: Off, UsersDectPhones or All. */
export let suppress = "Off";
/** Whether the stream is connected. */
export let connected = false;

/** Listens to changes; `null` means "reload everything". Returns the unsubscribe function. */
export function onChange(f: Listener): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Listens to the suppress mode. */
export function onSuppress(f: (mode: string) => void): () => void {
  suppressListeners.add(f);
  return () => suppressListeners.delete(f);
}

/** Sets the suppress mode (known from the settings or the stream's hello). */
export function setSuppress(mode: string): void {
  if (mode === suppress) return;
  suppress = mode;
  suppressListeners.forEach((f) => f(mode));
}

/** Whether changes of `entity` are held back in the current mode. */
export function suppressed(entity: string): boolean {
  if (suppress === "All") return entity !== "Settings" && entity !== "License";
  if (suppress === "UsersDectPhones") return entity === "User" || entity === "Device";
  return false;
}

function emit(change: Change | null): void {
  listeners.forEach((f) => f(change));
}

function open(): void {
  if (stopped) return;
  const from = lastRev === null ? "" : `?from_rev=${lastRev}`;
  const ws = new WebSocket(`wss://${location.host}/api/v1/events${from}`);
  socket = ws;
  ws.onopen = () => {
    connected = true;
    backoff = 500;
  };
  ws.onmessage = (m) => {
    let e: any;
    try {
      e = JSON.parse(String(m.data));
    } catch {
      return;
    }
    if (e.type === "hello") {
      const resumed = lastRev !== null;
      lastRev = e.rev;
      setSuppress(e.suppress);
      if (resumed) emit(null);
    } else if (e.type === "change") {
      lastRev = e.rev;
      emit(e as Change);
    } else if (e.type === "resync") {
      lastRev = e.rev;
      emit(null);
    }
  };
  ws.onclose = () => {
    connected = false;
    socket = null;
    if (stopped) return;
    setTimeout(open, backoff);
    backoff = Math.min(backoff * 2, 10_000);
  };
}

/** Starts the stream (after login). */
export function start(): void {
  if (!stopped) return;
  stopped = false;
  open();
}

/** Stops it (logout). */
export function stop(): void {
  stopped = true;
  socket?.close();
  socket = null;
  lastRev = null;
}
