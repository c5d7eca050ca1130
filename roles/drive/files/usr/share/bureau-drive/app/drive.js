// The drive page: WebDAV of the agent's folders in plain JavaScript (no
// library, nothing fetched from elsewhere). The front has logged the agent
// in; every request carries the portal's session cookie.
"use strict";

const API = "/.bureau/api/";
const DAV = "DAV:";
const state = { me: null, place: null, path: null };
const $ = (id) => document.getElementById(id);

function say(text, ok) {
  const message = $("message");
  message.textContent = text || "";
  message.className = ok ? "ok" : "";
}

function size(bytes) {
  if (bytes === null || bytes === undefined || bytes === "") return "";
  const units = ["octets", "Ko", "Mo", "Go", "To"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return (unit ? value.toFixed(1).replace(".", ",") : value) + " " + units[unit];
}

// A path's segments are encoded one by one: a file may be called "a b#c".
function href(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

function explain(status) {
  switch (status) {
    case 401: case 403: return "Vous n'avez pas le droit de faire cela ici.";
    case 404: return "Ce document ou ce dossier n'existe plus.";
    case 405: return "Un document ou un dossier porte déjà ce nom.";
    case 409: return "Le dossier de destination n'existe pas.";
    case 412: return "Un document porte déjà ce nom à la destination.";
    case 423: return "Ce document est verrouillé : quelqu'un le modifie en ce moment.";
    case 507: return "Espace insuffisant : le quota de ce dossier serait dépassé. Rien n'a été enregistré.";
    default: return "Le serveur a répondu " + status + ".";
  }
}

async function dav(method, path, headers, body) {
  const answer = await fetch(href(path), { method, headers: headers || {}, body, credentials: "same-origin" });
  if (answer.redirected || answer.status === 302) {
    window.location.reload(); // the session ended: back to the portal
  }
  return answer;
}

async function api(method, what, body) {
  const headers = { "X-Bureau-Drive": "1" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(API + what, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.error || explain(answer.status));
  return data;
}

async function list(path) {
  const ask = () => dav("PROPFIND", path, { Depth: "1", "Content-Type": "application/xml; charset=utf-8" },
    '<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop>' +
    "<resourcetype/><getcontentlength/><getlastmodified/></prop></propfind>");
  let answer = await ask();
  // Apache fails the first listing that meets an expired lock on a name
  // never written (a client that died); that listing drops it: ask again.
  if (answer.status >= 500) answer = await ask();
  if (answer.status !== 207) throw new Error(explain(answer.status));
  const xml = new DOMParser().parseFromString(await answer.text(), "application/xml");
  const entries = [];
  for (const response of xml.getElementsByTagNameNS(DAV, "response")) {
    const target = decodeURIComponent(response.getElementsByTagNameNS(DAV, "href")[0].textContent);
    const own = target.replace(/^https?:\/\/[^/]+/, "");
    if (own.replace(/\/$/, "") === path.replace(/\/$/, "")) continue;
    const folder = response.getElementsByTagNameNS(DAV, "collection").length > 0;
    const length = response.getElementsByTagNameNS(DAV, "getcontentlength")[0];
    const modified = response.getElementsByTagNameNS(DAV, "getlastmodified")[0];
    const name = own.replace(/\/$/, "").split("/").pop();
    if (name.startsWith(".")) continue;
    entries.push({
      name, folder,
      path: path + name + (folder ? "/" : ""),
      size: folder ? "" : (length ? length.textContent : ""),
      modified: modified ? new Date(modified.textContent) : null,
    });
  }
  entries.sort((a, b) => (b.folder - a.folder) || a.name.localeCompare(b.name, "fr"));
  return entries;
}

function placeLabel(place) {
  if (place.kind === "users") return "Mes documents";
  if (place.kind === "groups") return "Ministère : " + place.name;
  return "Partage : " + place.name;
}

function drawPlaces() {
  const nav = $("places");
  nav.replaceChildren();
  let kind = null;
  for (const place of state.me.places) {
    if (place.kind !== kind) {
      kind = place.kind;
      const title = document.createElement("h2");
      title.textContent = { users: "Personnel", groups: "Mon ministère", shares: "Dossiers partagés" }[kind];
      nav.append(title);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = placeLabel(place);
    button.dataset.path = place.path;
    if (state.place === place) button.className = "current";
    button.addEventListener("click", () => open(place, place.path));
    nav.append(button);
  }
}

function drawCrumbs() {
  const crumbs = $("crumbs");
  crumbs.replaceChildren();
  const base = state.place.path;
  const parts = state.path.slice(base.length).split("/").filter(Boolean);
  let path = base;
  const items = [[placeLabel(state.place), base]];
  for (const part of parts) { path += part + "/"; items.push([part, path]); }
  for (const [label, target] of items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#";
    a.textContent = label;
    a.addEventListener("click", (event) => { event.preventDefault(); open(state.place, target); });
    li.append(a);
    crumbs.append(li);
  }
}

function action(label, handler) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.addEventListener("click", handler);
  return button;
}

async function refresh() {
  const body = $("list").tBodies[0];
  let entries;
  try {
    entries = await list(state.path);
  } catch (err) {
    say(err.message);
    return;
  }
  body.replaceChildren();
  for (const entry of entries) {
    const row = body.insertRow();
    const name = row.insertCell();
    const a = document.createElement("a");
    a.textContent = entry.name;
    a.className = entry.folder ? "folder" : "file";
    if (entry.folder) {
      a.href = "#";
      a.addEventListener("click", (event) => { event.preventDefault(); open(state.place, entry.path); });
    } else {
      a.href = href(entry.path);
      a.download = entry.name;
    }
    name.append(a);
    row.insertCell().textContent = size(entry.size);
    row.insertCell().textContent = entry.modified ? entry.modified.toLocaleString("fr-FR") : "";
    const actions = row.insertCell();
    actions.className = "actions";
    actions.append(action("Renommer", () => rename(entry)), action("Déplacer", () => move(entry)),
      action("Supprimer", () => remove(entry)));
    if (!entry.folder) actions.append(action("Partager", () => share(entry)));
  }
  if (!entries.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 4;
    cell.textContent = "Ce dossier est vide.";
  }
}

async function open(place, path) {
  state.place = place;
  state.path = path;
  say("");
  drawPlaces();
  drawCrumbs();
  await refresh();
}

async function loadMe() {
  state.me = await api("GET", "me");
  $("who").textContent = state.me.name;
  const quota = state.me.quota;
  $("quota").textContent = quota
    ? "Espace utilisé : " + size(state.me.used) + " sur " + size(quota)
    : "Espace utilisé : " + size(state.me.used);
}

function upload(file) {
  return new Promise((resolve) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    const status = document.createElement("span");
    status.textContent = "0 %";
    item.append(label, bar, status);
    $("uploads").append(item);
    const request = new XMLHttpRequest();
    request.open("PUT", href(state.path + file.name));
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        bar.value = event.loaded;
        status.textContent = Math.floor((100 * event.loaded) / event.total) + " %";
      }
    });
    request.addEventListener("load", () => {
      const ok = request.status >= 200 && request.status < 300;
      bar.value = bar.max;
      status.textContent = ok ? "Déposé" : explain(request.status);
      item.className = ok ? "done" : "failed";
      resolve(ok);
    });
    request.addEventListener("error", () => { status.textContent = "La connexion a été interrompue."; resolve(false); });
    request.send(file);
  });
}

async function uploadAll(files) {
  const results = [];
  for (const file of files) results.push(await upload(file));
  const done = results.filter(Boolean).length;
  say(done + " fichier(s) déposé(s) sur " + results.length + ".", done === results.length);
  await loadMe();
  await refresh();
}

async function newFolder() {
  const name = window.prompt("Nom du nouveau dossier :");
  if (!name) return;
  if (name.includes("/")) { say("Un nom ne peut pas contenir « / »."); return; }
  const answer = await dav("MKCOL", state.path + name + "/");
  if (answer.status === 201) say("Dossier « " + name + " » créé.", true); else say(explain(answer.status));
  await refresh();
}

async function moveTo(entry, target) {
  const answer = await dav("MOVE", entry.path, {
    Destination: window.location.origin + href(target), Overwrite: "F",
  });
  if (answer.status === 201 || answer.status === 204) return true;
  say(explain(answer.status));
  return false;
}

async function rename(entry) {
  const name = window.prompt("Nouveau nom :", entry.name);
  if (!name || name === entry.name) return;
  if (name.includes("/")) { say("Un nom ne peut pas contenir « / »."); return; }
  if (await moveTo(entry, state.path + name + (entry.folder ? "/" : ""))) say("Renommé en « " + name + " ».", true);
  await refresh();
}

async function move(entry) {
  const folder = window.prompt("Déplacer vers le dossier (chemin, par exemple " + state.place.path + "Archives/) :",
    state.path);
  if (!folder) return;
  const target = (folder.endsWith("/") ? folder : folder + "/") + entry.name + (entry.folder ? "/" : "");
  if (await moveTo(entry, target)) say("« " + entry.name + " » déplacé vers " + folder + ".", true);
  await refresh();
}

async function remove(entry) {
  const what = entry.folder ? "le dossier « " + entry.name + " » et tout son contenu" : "« " + entry.name + " »";
  if (!window.confirm("Supprimer définitivement " + what + " ?")) return;
  const answer = await dav("DELETE", entry.path);
  if (answer.status === 204 || answer.status === 200) say("« " + entry.name + " » supprimé.", true);
  else say(explain(answer.status));
  await loadMe();
  await refresh();
}

function share(entry) {
  const dialog = $("share-dialog");
  $("share-name").textContent = entry.name;
  const days = $("share-days");
  days.max = state.me.link_days.max;
  days.value = state.me.link_days.default;
  $("share-result").textContent = "";
  $("share-copy").hidden = true;
  $("share-make").hidden = false;
  $("share-make").onclick = async () => {
    try {
      const link = await api("POST", "links", { path: entry.path, days: Number(days.value) });
      const expires = new Date(link.expires * 1000).toLocaleDateString("fr-FR");
      $("share-result").textContent = link.url + " (valable jusqu'au " + expires + ")";
      $("share-result").dataset.url = link.url;
      $("share-copy").hidden = false;
      $("share-make").hidden = true;
      await drawLinks();
    } catch (err) {
      $("share-result").textContent = err.message;
    }
  };
  $("share-copy").onclick = () => navigator.clipboard && navigator.clipboard.writeText($("share-result").dataset.url);
  dialog.showModal();
}

async function drawLinks() {
  const list = $("links");
  list.replaceChildren();
  const { links } = await api("GET", "links");
  for (const link of links) {
    const item = document.createElement("li");
    const a = document.createElement("a");
    a.href = link.url;
    a.textContent = link.path;
    item.append(a, " — expire le " + new Date(link.expires * 1000).toLocaleDateString("fr-FR") + " ");
    item.append(action("Retirer", async () => {
      if (!window.confirm("Retirer ce lien ? Il cessera de fonctionner tout de suite.")) return;
      await api("DELETE", "links/" + link.token);
      await drawLinks();
    }));
    list.append(item);
  }
  if (!links.length) list.textContent = "Aucun lien actif.";
}

async function start() {
  $("new-folder").addEventListener("click", newFolder);
  $("pick").addEventListener("change", (event) => uploadAll([...event.target.files]));
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    uploadAll([...event.dataTransfer.files]);
  });
  try {
    await loadMe();
  } catch (err) {
    say(err.message);
    return;
  }
  await open(state.me.places[0], state.me.places[0].path);
  await drawLinks();
}

document.addEventListener("DOMContentLoaded", start);
