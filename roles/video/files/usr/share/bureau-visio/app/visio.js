/* Bureau's meeting page (roles/video): create a meeting, join it with
   camera and microphone through Janus' VideoRoom (janus.js and adapter.js
   from Debian, served by the room service). Nothing comes from elsewhere. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const api = async (path, body) => {
    const response = await fetch(path, {
      method: "POST",
      headers: { "X-Bureau-Visio": "1", "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    if (!response.ok) {
      const text = await response.text();
      throw new Error(
        response.status === 404 ? "Cette réunion n'existe pas (ou plus)."
        : response.status === 409 ? "La réunion est complète."
        : text.includes("removed") ? "Vous avez été retiré de cette réunion par son organisateur."
        : text.includes("locked") ? "La réunion est verrouillée : demandez à son organisateur de l'ouvrir."
        : "Le service de visio a répondu " + response.status + " : " + text);
    }
    return response.json();
  };
  const fail = (message) => {
    $("error").textContent = message;
    $("error").hidden = false;
  };
  const state = (text) => { $("state").textContent = text; };

  // For the checks and the curious: every peer connection of the page.
  const connections = [];
  window.bureauVisio = { connections: () => connections.slice() };

  // --- Home: create a meeting --------------------------------------------------

  function home() {
    $("home").hidden = false;
    $("create").addEventListener("click", async () => {
      try {
        const made = await api("/api/rooms");
        $("link").value = made.link;
        $("open").href = made.link;
        $("created").hidden = false;
      } catch (error) {
        fail(error.message);
      }
    });
    $("copy").addEventListener("click", async () => {
      $("link").select();
      try { await navigator.clipboard.writeText($("link").value); } catch (_) { /* selected */ }
    });
  }

  // --- Meeting ---------------------------------------------------------------

  async function meeting(room) {
    $("meeting").hidden = false;
    let joined;
    try {
      joined = await api("/api/rooms/" + room + "/join");
    } catch (error) {
      state("");
      fail(error.message);
      return;
    }
    // The meeting's events (chat; the lobby for the creator): the first
    // message proves she is a participant (her Janus token).
    const socket = new WebSocket("wss://" + location.host + "/api/rooms/" + room + "/events");
    socket.addEventListener("open", () => socket.send(JSON.stringify({ token: joined.token })));
    start(joined, socket);
  }

  function start(joined, socket) {
    $("meeting").hidden = false;
    $("who").textContent = joined.display;
    events(joined, socket);
    // ?relais=1: media through the TURN relay only (networks that let only TLS out).
    const relay = new URLSearchParams(location.search).get("relais") === "1";
    Janus.init({
      debug: false,
      callback: () => connect(joined, relay),
    });
  }

  // --- A guest (no account): her name, the lobby, then the meeting --------------

  function guest(invitation) {
    $("guest").hidden = false;
    $("guest-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = $("guest-name").value.trim();
      if (!name) return;
      $("guest-ask").disabled = true;
      const socket = new WebSocket("wss://" + location.host + "/invite/" + invitation + "/socket");
      let decided = false;
      const onLobby = (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "waiting") {
          $("guest-form").hidden = true;
          $("guest-wait").hidden = false;
        } else if (event.type === "admitted") {
          decided = true;
          socket.removeEventListener("message", onLobby);
          $("guest").hidden = true;
          start(event.join, socket);
        } else if (event.type === "refused") {
          decided = true;
          $("guest-wait").hidden = true;
          fail(event.reason === "locked"
            ? "La réunion est verrouillée : personne de nouveau n'y entre."
            : event.reason === "full" ? "La réunion est complète."
            : "L'organisateur n'a pas accepté votre demande.");
        }
      };
      socket.addEventListener("message", onLobby);
      socket.addEventListener("open", () => socket.send(JSON.stringify({ name: name })));
      socket.addEventListener("close", () => {
        if (!decided) {
          $("guest-wait").hidden = true;
          fail("Cette invitation n'est plus valable, ou la réunion est verrouillée.");
        }
      });
    });
  }

  // --- Chat, and the lobby for the creator ------------------------------------------

  function events(joined, socket) {
    $("chat").hidden = false;
    $("chat-text").maxLength = joined.chat_max_length;
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "chat") {
        // Text only: what someone typed is never read as HTML.
        const line = document.createElement("li");
        const from = document.createElement("span");
        from.className = "from";
        from.textContent = event.from;
        const text = document.createElement("span");
        text.className = "text";
        text.textContent = event.text;
        line.append(from, text);
        if (event.guest) line.classList.add("guest");
        $("messages").append(line);
        line.scrollIntoView({ block: "nearest" });
      } else if (event.type === "lobby") {
        lobby(joined, event.waiting);
      } else if (event.type === "error") {
        fail("Message refusé : trop long, ou trop de messages à la suite.");
      }
    });
    const say = (text) => {
      if (!text || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ text: text }));
    };
    // For the checks: what the field would send, without its length limit
    // (the room service enforces its own).
    window.bureauVisio.say = say;
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      say($("chat-text").value.trim());
      $("chat-text").value = "";
    });
  }

  function lobby(joined, waiting) {
    $("lobby").hidden = waiting.length === 0;
    const list = $("waiting");
    list.replaceChildren();
    for (const guest of waiting) {
      const item = document.createElement("li");
      item.dataset.guest = guest.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = guest.name;
      item.append(name);
      for (const [label, admit] of [["Admettre", true], ["Refuser", false]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = admit ? "admit" : "refuse";
        button.textContent = label;
        button.addEventListener("click", async () => {
          try { await api("/api/rooms/" + joined.room + "/lobby", { guest: guest.id, admit: admit }); }
          catch (error) { fail(error.message); }
        });
        item.append(" ", button);
      }
      list.append(item);
    }
  }

  function connect(joined, relay) {
    const feeds = {};
    let publisher = null;
    let privateId = null;
    let kicked = false;
    // The screen is a publisher of its own (its own feed and tile for the others).
    let screen = null;
    let screenFeed = null;
    const janus = new Janus({
      server: joined.janus,
      token: joined.token,
      iceServers: joined.ice_servers,
      iceTransportPolicy: relay ? "relay" : undefined,
      success: () => attachPublisher(),
      error: (error) => { state(""); if (!kicked) fail("Connexion perdue : " + error); },
      destroyed: () => state("Vous avez quitté la réunion."),
    });

    function attachPublisher() {
      janus.attach({
        plugin: "janus.plugin.videoroom",
        success: (handle) => {
          publisher = handle;
          handle.send({ message: { request: "join", room: joined.room, ptype: "publisher",
                                   id: joined.feed, display: joined.display } });
        },
        error: (error) => fail("Impossible de rejoindre : " + error),
        onmessage: (message, jsep) => {
          const event = message.videoroom;
          if (event === "joined") {
            privateId = message.private_id;
            state("Connecté à la réunion.");
            publish();
          }
          if (message.error) fail(message.error);
          if (message.moderation) moderated(message);
          if (message.leaving === "ok" && message.reason === "kicked") {
            kicked = true;
            state("");
            fail("Vous avez été retiré de la réunion par son organisateur.");
            return;
          }
          for (const found of message.publishers || []) subscribe(found);
          const gone = message.leaving || message.unpublished || message.kicked;
          if (gone && gone !== "ok") {
            // The tile goes at once; the subscription's own cleanup (a round
            // trip to Janus) may come late on a loaded server.
            dropTile(gone);
            if (feeds[gone]) feeds[gone].detach();
          }
          if (jsep) publisher.handleRemoteJsep({ jsep: jsep });
        },
        onlocaltrack: (track, on) => {
          if (track.kind !== "video" || !on) return;
          $("local").srcObject = new MediaStream([track]);
        },
        webrtcState: (on) => { if (on) state("Connecté : vous êtes en ligne."); },
      });
    }

    function publish() {
      const video = joined.video;
      publisher.createOffer({
        tracks: [
          { type: "audio", capture: true, recv: false },
          { type: "video", recv: false, simulcast: video.simulcast,
            capture: { width: { ideal: video.width }, height: { ideal: video.height } } },
        ],
        success: (jsep) => {
          connections.push({ role: "publisher", pc: publisher.webrtcStuff.pc });
          publisher.send({ message: { request: "configure", audio: true, video: true,
                                      bitrate: video.bitrate }, jsep: jsep });
        },
        error: (error) => fail("Caméra ou micro indisponible : " + (error.message || error)),
      });
    }

    // The creator muted (or let speak again) someone: Janus says so to all.
    function moderated(message) {
      const muted = message.moderation === "muted";
      if (message.id === joined.feed) {
        state(muted ? "Votre micro a été coupé par l'organisateur."
                    : "L'organisateur vous a rendu la parole.");
        $("mic").disabled = muted;
        return;
      }
      for (const tile of document.querySelectorAll(".tile.remote")) {
        if (tile.dataset.feed === String(message.id) && tile.dataset.audioMid === message.mid) {
          tile.classList.toggle("muted", muted);
          const button = tile.querySelector("button.mute");
          if (button) button.textContent = muted ? "Rétablir le micro" : "Couper le micro";
        }
      }
    }

    function dropTile(feed) {
      for (const tile of document.querySelectorAll(".tile.remote")) {
        if (tile.dataset.feed === String(feed)) {
          tile.dataset.left = "1";
          tile.remove();
        }
      }
    }

    function subscribe(found) {
      if (feeds[found.id] || found.id === screenFeed) return;
      let handle = null;
      const tile = document.createElement("figure");
      tile.className = "tile remote";
      tile.dataset.feed = found.id;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const caption = document.createElement("figcaption");
      caption.textContent = found.display || "Participant";
      tile.append(video, caption);
      const audio = (found.streams || []).find((s) => s.type === "audio" && !s.disabled);
      if (audio) {
        tile.dataset.audioMid = audio.mid;
        if (audio.moderated) tile.classList.add("muted");
      }
      if (joined.moderator && audio) {
        const mute = document.createElement("button");
        mute.type = "button";
        mute.className = "mute";
        mute.textContent = audio.moderated ? "Rétablir le micro" : "Couper le micro";
        mute.addEventListener("click", async () => {
          try {
            await api("/api/rooms/" + joined.room + "/mute",
                      { feed: found.id, mid: audio.mid, muted: !tile.classList.contains("muted") });
          } catch (error) { fail(error.message); }
        });
        caption.append(" ", mute);
      }
      if (joined.moderator) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove";
        remove.textContent = "Retirer";
        remove.addEventListener("click", async () => {
          try { await api("/api/rooms/" + joined.room + "/kick", { feed: found.id }); }
          catch (error) { fail(error.message); }
        });
        caption.append(" ", remove);
      }
      const stream = new MediaStream();
      video.srcObject = stream;
      feeds[found.id] = { detach: () => {} };  // until attached
      janus.attach({
        plugin: "janus.plugin.videoroom",
        success: (attached) => {
          handle = attached;
          feeds[found.id] = attached;
          attached.send({ message: { request: "join", room: joined.room, ptype: "subscriber",
                                     streams: [{ feed: found.id }], private_id: privateId } });
        },
        error: (error) => fail("Flux indisponible : " + error),
        onmessage: (message, jsep) => {
          if (message.left === "ok" || message.unpublished) {
            tile.dataset.left = "1";
            tile.remove();
            handle.detach();
          }
          if (!jsep) return;
          handle.createAnswer({
            jsep: jsep,
            tracks: [{ type: "data" }],
            success: (answer) => {
              connections.push({ role: "subscriber", feed: found.id, pc: handle.webrtcStuff.pc });
              handle.send({ message: { request: "start", room: joined.room }, jsep: answer });
            },
            error: (error) => fail("Réception impossible : " + error),
          });
        },
        // Janus hangs up a subscription whose publisher left (or was removed).
        webrtcState: (on) => {
          if (!on && handle) {
            tile.dataset.left = "1";
            tile.remove();
            handle.detach();
          }
        },
        onremotetrack: (track, mid, on) => {
          if (on) {
            stream.addTrack(track);
            // A publisher that left does not come back through a late track.
            if (!tile.dataset.left) $("videos").append(tile);
          } else {
            stream.removeTrack(track);
          }
        },
        oncleanup: () => {
          tile.remove();
          delete feeds[found.id];
          for (let i = connections.length - 1; i >= 0; i--) {
            if (connections[i].feed === found.id) connections.splice(i, 1);
          }
        },
      });
    }

    $("mic").addEventListener("click", () => {
      if (!publisher) return;
      const muted = publisher.isAudioMuted();
      if (muted) publisher.unmuteAudio(); else publisher.muteAudio();
      $("mic").textContent = muted ? "Couper le micro" : "Activer le micro";
      $("mic").setAttribute("aria-pressed", String(!muted));
    });
    $("camera").addEventListener("click", () => {
      if (!publisher) return;
      const muted = publisher.isVideoMuted();
      if (muted) publisher.unmuteVideo(); else publisher.muteVideo();
      $("camera").textContent = muted ? "Couper la caméra" : "Activer la caméra";
      $("camera").setAttribute("aria-pressed", String(!muted));
    });
    function shareScreen() {
      janus.attach({
        plugin: "janus.plugin.videoroom",
        success: (handle) => {
          screen = handle;
          handle.send({ message: { request: "join", room: joined.room, ptype: "publisher",
                                   display: joined.display + " (écran)" } });
        },
        error: (error) => fail("Partage impossible : " + error),
        onmessage: (message, jsep) => {
          if (message.videoroom === "joined") {
            screenFeed = message.id;
            screen.createOffer({
              tracks: [{ type: "screen", capture: true, recv: false }],
              success: (offer) => screen.send({ message: { request: "configure", audio: false,
                                                            video: true }, jsep: offer }),
              error: (error) => { fail("Partage impossible : " + (error.message || error));
                                  stopScreen(); },
            });
          }
          if (jsep) screen.handleRemoteJsep({ jsep: jsep });
        },
        onlocaltrack: (track, on) => {
          // Sharing stopped from the browser's own bar.
          if (on && track.kind === "video") track.addEventListener("ended", stopScreen);
        },
      });
      $("screen").textContent = "Arrêter le partage";
      $("screen").setAttribute("aria-pressed", "true");
    }

    function stopScreen() {
      if (screen) screen.detach();
      screen = null;
      screenFeed = null;
      $("screen").textContent = "Partager l'écran";
      $("screen").setAttribute("aria-pressed", "false");
    }

    $("screen").addEventListener("click", () => { if (screen) stopScreen(); else shareScreen(); });
    $("leave").addEventListener("click", () => janus.destroy());
    if (joined.moderator) {
      let locked = joined.locked;
      const show = () => {
        $("lock").textContent = locked ? "Déverrouiller la réunion" : "Verrouiller la réunion";
        $("lock").setAttribute("aria-pressed", String(locked));
      };
      $("lock").hidden = false;
      show();
      $("lock").addEventListener("click", async () => {
        try {
          locked = (await api("/api/rooms/" + joined.room + "/lock", { locked: !locked })).locked;
          show();
        } catch (error) { fail(error.message); }
      });
      $("invite").hidden = false;
      $("invite").addEventListener("click", async () => {
        try {
          const made = await api("/api/rooms/" + joined.room + "/invite");
          $("guest-link").value = made.link;
          $("invitation").hidden = false;
          $("guest-link").select();
        } catch (error) { fail(error.message); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const match = location.pathname.match(/^\/r\/([a-z0-9]{12})$/);
    const invited = location.pathname.match(/^\/invite\/([A-Za-z0-9_-]{43})$/);
    if (match) meeting(match[1]); else if (invited) guest(invited[1]); else home();
  });
})();
