// Pause / resume / cancel buttons for a sweep, shown only when they apply to its state. Cancelling cannot be
// undone, so it asks twice in the page (the button turns into "Confirm cancel" for a few seconds) instead of a
// confirm() dialog.

import { send } from './api.js';
import { el, FINISHED_SWEEP, showError } from './dom.js';

const ARM_MS = 4000;

/** Makes the buttons for sweep `id`; call update(state) on every change; onDone() after a command was applied. */
export function sweepControls(id, onDone) {
  const pause = el('button', { type: 'button', dataset: { testid: 'pause' }, title: 'Hand out no more of its units; running ones checkpoint and come back' }, 'Pause');
  const resume = el('button', { type: 'button', dataset: { testid: 'resume' }, title: 'Hand out its units again' }, 'Resume');
  const cancel = el('button', { type: 'button', class: 'danger', dataset: { testid: 'cancel' }, title: 'Cancel every unfinished job; finished results stay' }, 'Cancel');
  const box = el('span', { class: 'buttons' }, pause, resume, cancel);
  let armedTimer = 0;

  async function run(command, button) {
    for (const b of [pause, resume, cancel]) b.disabled = true;
    try {
      await send('POST', `sweeps/${encodeURIComponent(id)}/${command}`);
      showError('');
      onDone?.(command);
    } catch (error) {
      showError(`Could not ${command} the sweep: ${error.message}`);
    } finally {
      for (const b of [pause, resume, cancel]) b.disabled = false;
      button.blur();
    }
  }

  function disarm() {
    clearTimeout(armedTimer);
    cancel.classList.remove('armed');
    delete cancel.dataset.armed;
    cancel.textContent = 'Cancel';
  }

  pause.addEventListener('click', () => run('pause', pause));
  resume.addEventListener('click', () => run('resume', resume));
  cancel.addEventListener('click', () => {
    if (cancel.dataset.armed !== 'true') {
      cancel.dataset.armed = 'true';
      cancel.classList.add('armed');
      cancel.textContent = 'Confirm cancel';
      armedTimer = setTimeout(disarm, ARM_MS);
      return;
    }
    disarm();
    run('cancel', cancel);
  });

  function update(state) {
    pause.hidden = !(state === 'running' || state === 'queued');
    resume.hidden = state !== 'paused';
    cancel.hidden = FINISHED_SWEEP.has(state);
    if (cancel.hidden) disarm();
  }

  return { element: box, update };
}
