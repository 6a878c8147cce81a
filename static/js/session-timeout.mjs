// Warns before an idle session ends (WCAG 2.2.1 Timing Adjustable): two minutes before, a dialog
// offers to stay signed in, which touches the session so its 30 minutes start again. Without
// JavaScript the session still ends after 30 idle minutes; this only gives the warning.
const body = document.body;
const seconds = Number(body.dataset.sessionTimeout || 0);
const keepaliveUrl = body.dataset.keepaliveUrl;
const dialog = document.getElementById("session-timeout-dialog");

if (seconds > 0 && keepaliveUrl && dialog && typeof dialog.showModal === "function") {
  const warnBefore = Math.min(120, seconds / 2);
  let warnTimer;
  let endTimer;

  const schedule = () => {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(() => dialog.showModal(), (seconds - warnBefore) * 1000);
    endTimer = setTimeout(() => {
      window.location.href = dialog.dataset.signedOutUrl;
    }, seconds * 1000);
  };

  dialog.querySelector("[data-session-stay]").addEventListener("click", async () => {
    const response = await fetch(keepaliveUrl, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) {
      dialog.close();
      schedule();
    } else {
      window.location.href = dialog.dataset.signedOutUrl;
    }
  });
  schedule();
}
