// The agent's desktop in her browser: noVNC's client (Debian's novnc,
// served by the office host's gateway under the same path) on the gateway's
// WebSocket. The portal's session says whose desktop it is; nothing here does.
import RFB from './core/rfb.js';

const status = document.getElementById('status');
const url = new URL('websockify', window.location.href);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

const rfb = new RFB(document.getElementById('screen'), url.href);
rfb.scaleViewport = true;
rfb.focusOnClick = true;
rfb.addEventListener('connect', () => {
  status.textContent = 'Connecté à votre bureau';
  document.title = 'Bureau virtuel – connecté';
  rfb.focus();
});
rfb.addEventListener('disconnect', (event) => {
  status.textContent = event.detail.clean
    ? 'Déconnecté. Votre bureau reste ouvert : rechargez la page pour le retrouver.'
    : 'Votre bureau ne répond pas. Rechargez la page dans un instant.';
  document.title = 'Bureau virtuel – déconnecté';
});
document.getElementById('keys').addEventListener('click', () => rfb.sendCtrlAltDel());
