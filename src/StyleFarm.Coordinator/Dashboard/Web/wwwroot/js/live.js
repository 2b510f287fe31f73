// The live view: the coordinator's /api/v1/events stream of `view` events (the whole DashboardView each time).
// Keeps the [data-testid=live] indicator in the top bar in step (data-state open/closed) and reconnects by itself:
// EventSource retries a dropped stream on its own, but gives up on an error answer (a 503 while the coordinator
// starts), and the server sends a view at least every 5 s, so a silent stream is a dead one.

const EVENTS = '/api/v1/events';
const SILENT_AFTER_MS = 20000;
const MAX_RETRY_MS = 15000;

/**
 * Calls onView(view) with every view the coordinator sends, newest only. Returns a function that stops following.
 */
export function followView(onView) {
  const indicator = document.querySelector('[data-testid=live]');
  const label = indicator?.querySelector('.live-text');
  let source = null;
  let retryTimer = 0;
  let watchdog = 0;
  let retryMs = 1000;
  let stopped = false;
  let lastVersion = -1;

  function show(state, text) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.title = text;
    if (label) label.textContent = text;
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => restart(), SILENT_AFTER_MS);
  }

  function connect() {
    if (stopped) return;
    source = new EventSource(EVENTS);
    show('closed', 'connecting…');
    armWatchdog();
    source.addEventListener('open', () => {
      retryMs = 1000;
      show('open', 'live');
      armWatchdog();
    });
    source.addEventListener('view', event => {
      armWatchdog();
      show('open', 'live');
      let view;
      try {
        view = JSON.parse(event.data);
      } catch {
        return;
      }
      // A reconnect starts again from the current view, whose version may be lower only after a coordinator restart.
      if (typeof view.version === 'number' && view.version === lastVersion) return;
      lastVersion = view.version;
      onView(view);
    });
    source.addEventListener('error', () => {
      if (!source || source.readyState !== EventSource.CLOSED) {
        show('closed', 'reconnecting…');
        return;
      }
      restart();
    });
  }

  function restart() {
    clearTimeout(watchdog);
    if (source) source.close();
    source = null;
    if (stopped) return;
    show('closed', 'offline, retrying…');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }

  connect();

  function stop() {
    stopped = true;
    clearTimeout(retryTimer);
    clearTimeout(watchdog);
    if (source) source.close();
    source = null;
    show('closed', 'stopped');
  }
  return stop;
}
