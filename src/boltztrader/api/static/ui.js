// Toasts, the confirmation dialog, and small form helpers.

import { h, $ } from './dom.js';
import { isAbort } from './api.js';

export function toast(message, kind = 'info', ms = 5000) {
  const box = $('#toasts');
  const item = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(item);
  setTimeout(() => item.classList.add('leaving'), ms);
  setTimeout(() => item.remove(), ms + 400);
}

/** Show an error unless it is an aborted request or a 401 (the sign-in screen says that). */
export function report(error, prefix = '') {
  if (isAbort(error) || error?.status === 401) return;
  console.warn(error);
  toast(prefix ? `${prefix}: ${error.message}` : error.message, 'error', 8000);
}

/**
 * Ask before something that matters. Resolves to the reason typed (when `reason` is asked for)
 * or true; null when cancelled.
 */
export function confirmAction({ title, body, confirm = 'Confirm', danger = false, reason = null,
                                reasonRequired = false }) {
  const dialog = $('#confirm');
  const form = $('#confirm-form');
  const input = $('#confirm-reason');
  $('#confirm-title').textContent = title;
  $('#confirm-body').textContent = body;
  const button = $('#confirm-ok');
  button.textContent = confirm;
  button.className = danger ? 'danger' : 'primary';
  const wantsReason = reason !== null;
  $('#confirm-reason-row').hidden = !wantsReason;
  input.value = typeof reason === 'string' ? reason : '';
  input.required = wantsReason && reasonRequired;
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      done(wantsReason ? input.value.trim() : true);
    };
    const onClose = () => done(null);
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
    $('#confirm-cancel').onclick = () => done(null);
    dialog.showModal();
    (wantsReason ? input : button).focus();
  });
}

/** Disable a button while `task` runs. */
export async function busy(button, task) {
  button.disabled = true;
  button.classList.add('busy');
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}

/** Fill a <select> with options [{value, label}], keeping the current choice when it is still there. */
export function setOptions(select, options, { blank = null } = {}) {
  const current = select.value;
  const nodes = [];
  if (blank !== null) nodes.push(h('option', { value: '' }, blank));
  for (const option of options) nodes.push(h('option', { value: option.value }, option.label));
  select.replaceChildren(...nodes);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}
