/* Clipzy console: plain JavaScript on the public v1 API only (no build step, no CDN). */
"use strict";

(function () {
  const API = document.body.dataset.api || "/api/v1";
  const KEY_STORE = "clipzy.apiKey";
  const TERMINAL = new Set(["completed", "failed", "cancelled"]);
  /* The stage lists come from the server (the engine's one stage list), per job mode. */
  const STAGES = JSON.parse(document.body.dataset.stages || '{"extract": [], "apply": []}');
  const STAGE_LABEL = Object.fromEntries(STAGES.apply.map((s) => [s, s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, " ")]));
  const TRANSITION_COLOUR = { cut: "#d6336c", dissolve: "#7048e8", fade: "#343a40", wipe: "#f08c00" };

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  /* ---------------------------------------------------------------- state */
  const state = {
    videos: {},         // video_id -> {video object, objectUrl (this tab only), role}
    videoFetches: {},   // video_id -> promise of GET /videos/{id} (labels of clips not uploaded here)
    clips: [],          // the footage video_ids in the user's order
    clipErrors: {},     // video_id -> error code of a clip id that could not be looked up
    song: null,         // {audio, file, peaks, chosen: {ms, jobId, completedAt}} of the song uploaded here
    styles: [],         // saved styles (GET /styles, newest first)
    plans: {},          // job_id -> promise of the edit plan
    jobs: {},           // job_id -> latest Job object
    stagesSeen: {},     // job_id -> [stage names seen while polling]
    watchers: {},       // job_id -> timer id
    results: {},        // job_id -> result object
    page: 1, totalPages: 0,
    detailJob: null,
    keyPrompt: null,
  };

  /* ---------------------------------------------------------------- helpers */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  const SVGNS = "http://www.w3.org/2000/svg";
  function sv(tag, attrs, children) {
    const node = document.createElementNS(SVGNS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.setAttribute("class", v);
      else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + units[i];
  }
  function fmtSeconds(s) {
    if (!isFinite(s) || s < 0) return "–";
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 60) return Math.ceil(s) + " s";
    const m = Math.floor(s / 60);
    return m + " min " + Math.round(s - m * 60) + " s";
  }
  function fmtNum(v, digits) {
    if (v === null || v === undefined) return "not measured";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(digits === undefined ? 2 : digits);
    if (typeof v === "boolean") return v ? "yes" : "no";
    return String(v);
  }
  function fmtMs(ms) { return (ms / 1000).toFixed(2) + " s"; }
  function fmtTime(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function showError(node, err) {
    if (!node) return;
    node.replaceChildren();
    if (!err) { node.hidden = true; return; }
    node.hidden = false;
    if (typeof err === "string") { node.textContent = err; return; }
    const code = err.code ? " (" + err.code + (err.status ? ", HTTP " + err.status : "") + ")" : "";
    append(node, [el("strong", { text: err.message || "Request failed" }), code]);
    if (err.detail) append(node, [el("br"), el("span", { class: "detail", text: err.detail })]);
    if (err.fields) {
      const ul = el("ul");
      for (const [f, msgs] of Object.entries(err.fields)) ul.append(el("li", { text: f + ": " + [].concat(msgs).join(" ") }));
      node.append(ul);
    }
  }
  /** Same-origin form of an absolute URL from the API (keeps the signed token). */
  function localUrl(url) {
    if (!url) return url;
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin ? u.href : u.pathname + u.search;
    } catch (e) { return url; }
  }

  /* ---------------------------------------------------------------- API key */
  function apiKey() { try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; } }
  function setApiKey(k) {
    try { if (k) sessionStorage.setItem(KEY_STORE, k); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* private mode */ }
    $("#key-button").hidden = !k;
    $("#key-button").textContent = "Change API key";
  }
  /** Ask for a key once (concurrent 401s share one prompt). Resolves true when a key was entered. */
  function askForKey(refused) {
    if (state.keyPrompt) return state.keyPrompt;
    const dlg = $("#key-dialog");
    const input = $("#key-input");
    showError($("#key-error"), refused ? "The service refused that key; check it and try again." : null);
    input.value = "";
    state.keyPrompt = new Promise((resolve) => {
      const done = (ok) => {
        dlg.removeEventListener("close", onClose);
        $("#key-cancel").removeEventListener("click", onCancel);
        state.keyPrompt = null;
        resolve(ok);
      };
      const onClose = () => {
        const k = input.value.trim();
        if (dlg.returnValue === "ok" && k) { setApiKey(k); done(true); } else done(false);
      };
      const onCancel = () => { dlg.returnValue = "cancel"; dlg.close(); };
      dlg.addEventListener("close", onClose);
      $("#key-cancel").addEventListener("click", onCancel);
      dlg.returnValue = "";
      dlg.showModal();
      input.focus();
    });
    return state.keyPrompt;
  }

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super((body && body.message) || ("HTTP " + status));
      this.status = status;
      this.code = err.code || (status === 0 ? "NETWORK_ERROR" : "HTTP_" + status);
      this.detail = err.detail || "";
      this.fields = err.fields || null;
    }
  }

  /** JSON request to the v1 API; returns the envelope's data, throws ApiError. Handles 401 once per key. */
  async function api(path, opts) {
    opts = opts || {};
    for (let attempt = 0; attempt < 4; attempt++) {
      const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
      const key = apiKey();
      if (key) headers.Authorization = "Bearer " + key;
      let body = opts.body;
      if (body !== undefined && typeof body !== "string") { body = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
      let resp;
      try {
        resp = await fetch(API + path,
          { method: opts.method || "GET", headers, body, cache: "no-store" });
      } catch (e) {
        throw new ApiError(0, { message: "The service could not be reached", error: { code: "NETWORK_ERROR", detail: String(e) } });
      }
      let json = null;
      try { json = await resp.json(); } catch (e) { json = null; }
      if (resp.status === 401 && json && json.error && json.error.code === "UNAUTHORIZED") {
        const ok = await askForKey(Boolean(key));
        if (!ok) {
          const btn = $("#key-button");
          btn.textContent = "Enter API key";
          btn.hidden = false;
          throw new ApiError(401, json);
        }
        continue;
      }
      if (!resp.ok || !json || json.success !== true) throw new ApiError(resp.status, json || { message: resp.status + " " + resp.statusText });
      return json.data;
    }
    throw new ApiError(401, { message: "Missing or invalid credentials", error: { code: "UNAUTHORIZED" } });
  }

  /* ---------------------------------------------------------------- health */
  async function loadHealth() {
    const node = $("#health");
    try {
      const resp = await fetch(API + "/health", { cache: "no-store" });
      const json = await resp.json();
      if (json.success) {
        const d = json.data;
        node.textContent = "Service " + d.status + " · v" + d.version + " · workers " + d.workers.busy + "/" + d.workers.max +
          " busy, " + d.workers.queued + " queued · " + (d.onnx_providers || []).join(", ");
        node.className = "health ok";
      } else {
        node.textContent = "Service unavailable: " + json.message + " (" + (json.error && json.error.code) + ")";
        node.className = "health bad";
      }
    } catch (e) {
      node.textContent = "The service could not be reached.";
      node.className = "health bad";
    }
  }

  /* ---------------------------------------------------------------- uploads */
  /* Each drop zone uploads to its endpoint; the footage zone takes several files, sent one after another. */
  const ROLES = {
    template: { path: "/videos/upload", multiple: false },
    footage: { path: "/videos/upload", multiple: true },
    song: { path: "/audio/upload", multiple: false },
  };
  const uploads = {}; // role -> XMLHttpRequest in flight
  const batches = {}; // role -> {files waiting, failed, sent, total, running}

  function setupUploads() {
    for (const zone of $$(".dropzone")) {
      const role = zone.dataset.role;
      const input = $("#file-" + role);
      input.addEventListener("change", () => {
        const files = Array.from(input.files);
        input.value = ""; // choosing the same file again still uploads it
        if (files.length) enqueue(role, files);
      });
      zone.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); zone.classList.add("over"); } });
      zone.addEventListener("dragleave", () => zone.classList.remove("over"));
      zone.addEventListener("drop", (e) => {
        zone.classList.remove("over");
        const files = e.dataTransfer && e.dataTransfer.files ? Array.from(e.dataTransfer.files) : [];
        if (!files.length) return;
        e.preventDefault();
        enqueue(role, files);
      });
      $(".abort-upload", zone).addEventListener("click", () => abortUploads(role));
    }
    // A file dropped outside a zone must not navigate away from the console.
    window.addEventListener("dragover", (e) => e.preventDefault());
    window.addEventListener("drop", (e) => e.preventDefault());
  }

  function hasFiles(e) {
    return Boolean(e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files"));
  }

  function abortUploads(role) {
    const b = batches[role];
    if (b) b.files.length = 0;
    if (uploads[role]) uploads[role].abort();
  }

  /** Upload ``files`` for ``role``: one file replaces the template or song; footage files join the clip list in turn. */
  async function enqueue(role, files) {
    if (!ROLES[role].multiple) { upload(role, files[0]); return; }
    const b = batches[role] || (batches[role] = { files: [], failed: 0, sent: 0, total: 0, running: false });
    if (!b.running) { b.failed = 0; b.sent = 0; b.total = 0; showError($("#error-" + role), null); }
    b.files.push(...files);
    b.total += files.length;
    if (b.running) return;
    b.running = true;
    let aborted = false;
    while (b.files.length) {
      const file = b.files.shift();
      b.sent++;
      const res = await upload(role, file, b);
      if (res === "aborted") aborted = true;
      else if (!res) b.failed++;
    }
    b.running = false;
    const zone = $("#drop-" + role);
    zone.dataset.state = b.failed ? "error" : aborted ? "aborted" : "done";
  }

  function upload(role, file, batch) {
    return new Promise((resolve) => sendUpload(role, file, batch, resolve));
  }

  /** One upload with its progress bar; ``done`` gets the API's data, null on failure, "aborted" when cancelled. */
  function sendUpload(role, file, batch, done) {
    const box = $("#progress-" + role);
    const bar = $("progress", box);
    const text = $(".progress-text", box);
    const errNode = $("#error-" + role);
    const many = batch && batch.total > 1;
    const prefix = many ? "File " + batch.sent + " of " + batch.total + ": " : "";
    if (!batch) showError(errNode, null);
    $("#meta-" + role).hidden = true;
    box.hidden = false;
    bar.value = 0;
    bar.max = 100;
    text.textContent = prefix + "Starting upload of " + file.name + " (" + fmtBytes(file.size) + ")…";
    $(".abort-upload", box).hidden = false;
    const zone = $("#drop-" + role);
    zone.dataset.state = "uploading";

    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    uploads[role] = xhr;
    const started = performance.now();
    let samples = [[started, 0]];
    xhr.upload.addEventListener("progress", (e) => {
      const now = performance.now();
      samples.push([now, e.loaded]);
      samples = samples.filter((s) => now - s[0] <= 3000 || s === samples[samples.length - 1]);
      const first = samples[0];
      const dt = (now - first[0]) / 1000;
      const speed = dt > 0 ? (e.loaded - first[1]) / dt : 0; // bytes/s over the last ~3 s
      const total = e.lengthComputable ? e.total : file.size;
      bar.max = total;
      bar.value = e.loaded;
      const left = speed > 0 ? (total - e.loaded) / speed : Infinity;
      text.textContent = prefix + fmtBytes(e.loaded) + " of " + fmtBytes(total) + " sent (" + Math.floor(100 * e.loaded / total) + " %) · " +
        fmtBytes(speed) + "/s · " + (e.loaded >= total ? "probing the file…" : fmtSeconds(left) + " left");
    });
    xhr.addEventListener("load", async () => {
      uploads[role] = null;
      $(".abort-upload", box).hidden = true;
      let json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { json = null; }
      if (xhr.status === 401 && json && json.error && json.error.code === "UNAUTHORIZED") {
        const had = Boolean(apiKey());
        if (await askForKey(had)) { sendUpload(role, file, batch, done); return; }
      }
      if (xhr.status === 200 && json && json.success) {
        const secs = (performance.now() - started) / 1000;
        text.textContent = prefix + "Uploaded " + fmtBytes(json.data.file_size_bytes) + " in " + fmtSeconds(secs) + " (" + fmtBytes(file.size / Math.max(secs, 1e-3)) + "/s).";
        bar.value = bar.max;
        if (!batch) zone.dataset.state = "done";
        uploaded(role, file, json.data);
        done(json.data);
      } else {
        if (!batch) zone.dataset.state = "error";
        bar.value = 0;
        text.textContent = prefix + "Upload failed.";
        uploadFailed(errNode, new ApiError(xhr.status, json || { message: "HTTP " + xhr.status + " " + xhr.statusText }), many && file.name);
        done(null);
      }
    });
    xhr.addEventListener("error", () => {
      uploads[role] = null;
      if (!batch) zone.dataset.state = "error";
      text.textContent = prefix + "Upload failed.";
      uploadFailed(errNode, { message: "The connection closed during the upload", code: "NETWORK_ERROR",
        detail: "The server may have refused the file before reading it (for example a file over the size limit, FILE_TOO_LARGE), or the network dropped." }, many && file.name);
      done(null);
    });
    xhr.addEventListener("abort", () => {
      uploads[role] = null;
      if (!batch) zone.dataset.state = "aborted";
      text.textContent = prefix + "Upload cancelled; nothing was stored" + (many && batch.sent < batch.total ? " (the files after it were not sent)." : ".");
      $(".abort-upload", box).hidden = true;
      done("aborted");
    });
    xhr.open("POST", API + ROLES[role].path);
    xhr.setRequestHeader("Accept", "application/json");
    const key = apiKey();
    if (key) xhr.setRequestHeader("Authorization", "Bearer " + key);
    xhr.send(form);
  }

  /** Show an upload's error; in a batch of several files each failure is listed under its file name. */
  function uploadFailed(errNode, err, fileName) {
    if (!fileName) { showError(errNode, err); return; }
    const item = el("div", { class: "error-item" });
    showError(item, err);
    item.hidden = false;
    item.prepend(el("span", { class: "error-file", text: fileName + ": " }));
    errNode.append(item);
    errNode.hidden = false;
  }

  function uploaded(role, file, data) {
    if (role === "song") { songUploaded(file, data); return; }
    const video = data;
    const prev = state.videos[video.video_id];
    const objectUrl = URL.createObjectURL(file);  // old object URLs are kept: results may still show them
    state.videos[video.video_id] = { video, objectUrl, role: prev && prev.role === "footage" ? "footage" : role };
    const meta = $("#meta-" + role);
    meta.replaceChildren(dl(videoRows(video)));
    meta.hidden = false;
    const prevVid = $("#preview-" + role);
    prevVid.src = objectUrl;
    prevVid.hidden = false;
    if (role === "template") $("#job-template").value = video.video_id;
    else addClip(video.video_id);
  }

  function videoRows(video) {
    const m = video.metadata || {};
    return [
      ["video_id", video.video_id], ["File", video.filename + " · " + fmtBytes(video.file_size_bytes)],
      ["Frame", m.width + " × " + m.height + (m.rotation ? " (rotated " + m.rotation + "°)" : "")],
      ["Duration", typeof m.duration_seconds === "number" ? m.duration_seconds.toFixed(2) + " s" : "–"], ["Frame rate", fmtNum(m.frame_rate, 3) + " fps"],
      ["Video", (m.codec || "–") + " in " + (m.format || "–") + (m.bitrate_kbps ? " · " + Math.round(m.bitrate_kbps) + " kb/s" : "")],
      ["Audio", m.has_audio ? (m.audio_codec || "?") + " · " + (m.audio_sample_rate || "?") + " Hz" : "none"],
    ];
  }

  function dl(rows) {
    const node = el("dl", { class: "kv" });
    for (const [k, v] of rows) node.append(el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : String(v)));
    return node;
  }

  /** A video by id: the one uploaded in this tab, else GET /videos/{id} (cached; the filename labels clips). */
  function ensureVideo(id) {
    if (state.videos[id]) return Promise.resolve(state.videos[id]);
    if (!state.videoFetches[id]) {
      state.videoFetches[id] = api("/videos/" + encodeURIComponent(id)).then((video) => {
        if (!state.videos[id]) state.videos[id] = { video, objectUrl: null, role: "footage" };
        return state.videos[id];
      }, (err) => { delete state.videoFetches[id]; throw err; });
    }
    return state.videoFetches[id];
  }

  /* ---------------------------------------------------------------- the clip list */
  /* state.clips is the footage in the user's order; #job-footage mirrors it (comma-separated ids). */
  function parseIds(text) {
    return Array.from(new Set(String(text || "").split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean)));
  }

  function clipName(id) {
    const v = state.videos[id];
    return v ? v.video.filename : id;
  }

  function addClip(id) {
    if (!state.clips.includes(id)) state.clips.push(id);
    delete state.clipErrors[id];
    renderClips();
  }

  function setClips(ids) {
    state.clips = ids.slice();
    renderClips();
    for (const id of ids) {
      if (state.videos[id]) continue;
      ensureVideo(id).then(() => { delete state.clipErrors[id]; keepFocus(renderClips); },
        (err) => { state.clipErrors[id] = err.code || "error"; keepFocus(renderClips); });
    }
  }

  function renderClips() {
    const list = $("#clip-list");
    const n = state.clips.length;
    list.replaceChildren(...state.clips.map((id, i) => clipItem(id, i, n)));
    $("#clips-count").textContent = n ? n + (n === 1 ? " clip" : " clips · the edit follows this order") : "none yet";
    $("#job-footage").value = state.clips.join(", ");
  }

  function clipItem(id, i, n) {
    const v = state.videos[id];
    const name = clipName(id);
    const m = v ? v.video.metadata || {} : {};
    const facts = v ? [typeof m.duration_seconds === "number" ? m.duration_seconds.toFixed(2) + " s" : null, m.width ? m.width + " × " + m.height : null, id]
      : [state.clipErrors[id] ? "not found (" + state.clipErrors[id] + ")" : "looking it up…", id];
    const btn = (dir, label, glyph, disabled) => el("button", {
      type: "button", class: "small icon", text: glyph, title: label, "aria-label": label + ": " + name, disabled,
      dataset: { focus: "clip-" + dir + "-" + id }, onclick: () => (dir === "remove" ? removeClip(id) : moveClip(id, dir === "up" ? -1 : 1)),
    });
    const li = el("li", { class: "clip" + (state.clipErrors[id] ? " missing" : ""), draggable: "true", dataset: { videoId: id } }, [
      el("span", { class: "clip-handle", "aria-hidden": "true", title: "Drag to reorder", text: "⠿" }),
      el("span", { class: "clip-pos clip-c" + (i % CLIP_COLOURS), text: String(i + 1) }),
      el("span", { class: "clip-name" }, [el("strong", { text: name }), el("span", { class: "muted small-text", text: facts.filter(Boolean).join(" · ") })]),
      el("span", { class: "clip-actions" }, [
        btn("up", "Move up", "↑", i === 0), btn("down", "Move down", "↓", i === n - 1), btn("remove", "Remove", "✕", false),
      ]),
    ]);
    dragHandlers(li, id);
    return li;
  }

  function announceClips(text) { $("#clips-status").textContent = text; }

  function moveClip(id, delta) {
    const from = state.clips.indexOf(id);
    placeClip(id, from + delta);
    const n = state.clips.length;
    const at = state.clips.indexOf(id);
    // keyboard: focus stays with the clip; at an end, on the button that still works
    const dir = delta < 0 ? (at === 0 ? "down" : "up") : (at === n - 1 ? "up" : "down");
    const again = $('[data-focus="clip-' + dir + '-' + id + '"]');
    if (again && !again.disabled) again.focus();
  }

  function placeClip(id, to) {
    const from = state.clips.indexOf(id);
    if (from < 0) return;
    to = Math.max(0, Math.min(state.clips.length - 1, to));
    if (to === from) return;
    state.clips.splice(from, 1);
    state.clips.splice(to, 0, id);
    renderClips();
    announceClips(clipName(id) + " moved to position " + (to + 1) + " of " + state.clips.length + ".");
  }

  function removeClip(id) {
    const at = state.clips.indexOf(id);
    if (at < 0) return;
    state.clips.splice(at, 1);
    renderClips();
    announceClips(clipName(id) + " removed; " + state.clips.length + (state.clips.length === 1 ? " clip" : " clips") + " left.");
    const next = state.clips[Math.min(at, state.clips.length - 1)];
    const target = next ? $('[data-focus="clip-remove-' + next + '"]') : $("#file-footage");
    if (target) target.focus();
  }

  /** Drag a clip onto another: it takes that clip's place (before it from above, after it from below). */
  function dragHandlers(li, id) {
    li.addEventListener("dragstart", (e) => {
      e.dataTransfer.setData("text/x-clipzy-clip", id);
      e.dataTransfer.effectAllowed = "move";
      li.classList.add("dragging");
    });
    li.addEventListener("dragend", () => li.classList.remove("dragging"));
    li.addEventListener("dragover", (e) => {
      if (!Array.from(e.dataTransfer.types || []).includes("text/x-clipzy-clip")) return;
      e.preventDefault();
      e.stopPropagation();
      li.classList.add("drop-target");
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop-target"));
    li.addEventListener("drop", (e) => {
      const moved = e.dataTransfer.getData("text/x-clipzy-clip");
      li.classList.remove("drop-target");
      if (!moved) return;
      e.preventDefault();
      e.stopPropagation();
      placeClip(moved, state.clips.indexOf(id));
    });
  }

  function setupClips() {
    const input = $("#job-footage");
    input.addEventListener("change", () => setClips(parseIds(input.value)));
  }

  /* ---------------------------------------------------------------- the song */
  function songUploaded(file, audio) {
    state.song = { audio, file, peaks: null, chosen: null };
    $("#job-song").value = audio.audio_id;
    const m = audio.metadata || {};
    const meta = $("#meta-song");
    meta.replaceChildren(dl([
      ["audio_id", audio.audio_id], ["File", audio.filename + " · " + fmtBytes(audio.file_size_bytes)],
      ["Duration", typeof m.duration_seconds === "number" ? m.duration_seconds.toFixed(2) + " s" : "–"],
      ["Audio", (m.codec || "–") + " in " + (m.format || "–") + " · " + (m.sample_rate || "?") + " Hz · " + (m.channels || "?") + " ch" +
        (m.bitrate_kbps ? " · " + m.bitrate_kbps + " kb/s" : "")],
    ]));
    meta.hidden = false;
    $("#song-remove").hidden = false;
    $("#music-start").max = typeof m.duration_seconds === "number" ? String(m.duration_seconds) : "";
    drawSong(state.song);
    updateSongStart();
  }

  /** The song's waveform, decoded in the browser from the local file (no samples come from the server). */
  async function drawSong(song) {
    const wave = $("#song-wave");
    const canvas = $("#waveform");
    wave.hidden = true;
    wave.removeAttribute("data-drawn");
    try {
      song.peaks = await wavePeaks(song.file, canvas.width);
    } catch (e) {
      song.peaks = null;
    }
    if (state.song !== song) return;
    if (!song.peaks) { updateSongStart("The waveform cannot be drawn here: this browser cannot decode the file (the service can)."); return; }
    drawWave(canvas, song.peaks);
    wave.hidden = false;
    wave.dataset.drawn = "1";
    updateSongStart();
  }

  const WAVE_MAX_BYTES = 300 * 1000 * 1000; // larger files are not read into the tab's memory

  /** Min and max of the (mono-mixed) samples in ``columns`` equal slices, and the duration. */
  async function wavePeaks(file, columns) {
    if (file.size > WAVE_MAX_BYTES) return null;
    const bytes = await file.arrayBuffer();
    const ctx = new OfflineAudioContext(1, 1, 8000); // decoding only: no sound, no autoplay policy
    const buf = await ctx.decodeAudioData(bytes);
    const chans = Array.from({ length: buf.numberOfChannels }, (_, c) => buf.getChannelData(c));
    const n = buf.length;
    const min = new Float32Array(columns), max = new Float32Array(columns);
    for (let x = 0; x < columns; x++) {
      const a = Math.floor(x * n / columns), b = Math.max(a + 1, Math.floor((x + 1) * n / columns));
      let lo = 0, hi = 0;
      for (let i = a; i < b && i < n; i++) {
        let v = 0;
        for (const ch of chans) v += ch[i];
        v /= chans.length;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[x] = lo;
      max[x] = hi;
    }
    return { min, max, duration: buf.duration };
  }

  /** Min/max bars per column, scaled to the song's peak (a quiet master still fills the height; silence stays flat). */
  function drawWave(canvas, peaks) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, mid = H / 2;
    let peak = 0;
    for (let x = 0; x < peaks.max.length; x++) peak = Math.max(peak, peaks.max[x], -peaks.min[x]);
    const gain = 0.95 / Math.max(peak, 1e-3);
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#7048e8";
    for (let x = 0; x < peaks.max.length && x < W; x++) {
      const top = mid - Math.min(1, peaks.max[x] * gain) * mid, bottom = mid - Math.max(-1, peaks.min[x] * gain) * mid;
      ctx.fillRect(x, Math.floor(top), 1, Math.max(1, Math.ceil(bottom - top)));
    }
  }

  function songDuration(song) {
    if (song.peaks) return song.peaks.duration;
    const d = song.audio.metadata && song.audio.metadata.duration_seconds;
    return typeof d === "number" ? d : 0;
  }

  /** The user's start (the config input) and the start an edit used (from its plan), as markers on the waveform. */
  function updateSongStart(note) {
    const song = state.song;
    const line = $("#song-start");
    if (!song) { line.hidden = true; return; }
    const dur = songDuration(song);
    const raw = $("#music-start").value;
    const user = raw === "" ? null : Number(raw);
    placeMarker($("#song-marker-user"), user, dur);
    placeMarker($("#song-marker-chosen"), song.chosen ? song.chosen.ms / 1000 : null, dur);
    const parts = [note || ""];
    if (user === null) parts.push("Start: automatic (the engine picks the downbeat that opens the most energetic stretch).");
    else if (!isFinite(user) || user < 0) parts.push("The start must be a number of seconds ≥ 0.");
    else parts.push("Your start: " + user.toFixed(2) + " s" + (dur && user >= dur ? ", after the end of the song (" + dur.toFixed(2) + " s)." : "."));
    if (song.chosen) parts.push("The edit of job " + song.chosen.jobId + " starts at " + fmtMs(song.chosen.ms) + " of the song.");
    line.textContent = parts.filter(Boolean).join(" ");
    line.hidden = false;
  }

  function placeMarker(marker, seconds, dur) {
    const ok = seconds !== null && isFinite(seconds) && seconds >= 0 && dur > 0 && !$("#song-wave").hidden;
    marker.hidden = !ok;
    if (!ok) { marker.removeAttribute("data-seconds"); return; }
    marker.style.left = (100 * Math.min(1, seconds / dur)) + "%";
    marker.dataset.seconds = String(seconds);
    marker.title = seconds.toFixed(2) + " s";
  }

  function removeSong() {
    state.song = null;
    $("#job-song").value = "";
    $("#song-wave").hidden = true;
    $("#meta-song").hidden = true;
    $("#song-remove").hidden = true;
    $("#progress-song").hidden = true;
    $("#drop-song").removeAttribute("data-state");
    const src = $("#job-form").elements.audio_source;
    if (src.value === "music") src.value = "auto";
    updateSongStart();
    $("#file-song").focus();
  }

  /** An edit plan that used the song tells where in it the edit starts (the newest completed job wins). */
  function noteChosenStart(r, plan) {
    const st = plan && plan.soundtrack;
    const song = state.song;
    if (!song || !st || st.audio_id !== song.audio.audio_id || typeof st.music_start_ms !== "number") return;
    if (song.chosen && song.chosen.completedAt > (r.completed_at || "")) return;
    song.chosen = { ms: st.music_start_ms, jobId: r.job_id, completedAt: r.completed_at || "" };
    updateSongStart();
  }

  function setupSong() {
    $("#song-remove").addEventListener("click", removeSong);
    $("#music-start").addEventListener("input", () => updateSongStart());
    // a click on the waveform sets the start there (the number field does the same by keyboard)
    $("#waveform").addEventListener("click", (e) => {
      const song = state.song;
      if (!song || !song.peaks) return;
      const rect = e.currentTarget.getBoundingClientRect();
      const t = songDuration(song) * Math.max(0, Math.min(1, (e.clientX - rect.left) / rect.width));
      $("#music-start").value = t.toFixed(2);
      updateSongStart();
    });
  }

  /* ---------------------------------------------------------------- new job */
  function setupJobForm() {
    const form = $("#job-form");
    const strength = $("#color-strength");
    strength.addEventListener("input", () => { $("#strength-out").value = Number(strength.value).toFixed(2); });
    const syncMode = () => {
      const mode = form.elements.mode.value;
      const style = $("#job-style").value;
      $("#config-fields").disabled = mode !== "apply";
      $("#job-style").disabled = mode !== "apply";
      $("#job-template").disabled = mode === "extract-footage" || (mode === "apply" && Boolean(style));
      $("#job-footage").disabled = mode === "extract-template";
      $("#job-song").disabled = mode !== "apply";
      // a saved style has no template soundtrack (API: audio_source "template" with style_id is refused)
      const tplOption = form.elements.audio_source.querySelector("option[value=template]");
      tplOption.disabled = Boolean(style);
      if (style && form.elements.audio_source.value === "template") form.elements.audio_source.value = "auto";
    };
    for (const r of form.elements.mode) r.addEventListener("change", syncMode);
    $("#job-style").addEventListener("change", syncMode);
    state.syncMode = syncMode;
    syncMode();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const errNode = $("#job-error");
      showError(errNode, null);
      const body = jobBody(form, errNode);
      if (!body) return;
      const btn = $("#start-job");
      btn.disabled = true;
      try {
        // one Idempotency-Key per click: a retry after the key prompt cannot create a second job
        const idem = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
        const job = await api("/jobs", { method: "POST", body, headers: { "Idempotency-Key": idem } });
        state.jobs[job.job_id] = job;
        await loadJobs(1);
        watch(job.job_id);
        openDetail(job.job_id, true);
      } catch (err) {
        showError(errNode, err);
      } finally {
        btn.disabled = false;
      }
    });
  }

  /** The POST /jobs body the form describes, or null (with the reason shown) when something is missing. */
  function jobBody(form, errNode) {
    const mode = form.elements.mode.value;
    const tpl = $("#job-template").value.trim();
    const clips = parseIds($("#job-footage").value);
    if (mode !== "apply") {
      const vid = mode === "extract-template" ? tpl : clips[0];
      if (!vid) { showError(errNode, "Upload (or enter the video_id of) the video to analyse first."); return null; }
      return { video_id: vid, template_video_id: null };
    }
    const style = $("#job-style").value;
    if (!clips.length) { showError(errNode, "Upload (or enter the video_id of) the footage first."); return null; }
    if (!tpl && !style) { showError(errNode, "Upload (or enter the video_id of) a template, or pick a saved style."); return null; }
    // one clip: the v1.0 body; several: footage_video_ids in the list's order
    const body = clips.length === 1 ? { video_id: clips[0] } : { footage_video_ids: clips };
    if (style) body.style_id = style;
    else body.template_video_id = tpl;
    const song = $("#job-song").value.trim();
    if (song) body.music_audio_id = song;
    body.config = readConfig(form);
    return body;
  }

  function readConfig(form) {
    const f = form.elements;
    const cfg = {
      quality: f.quality.value,
      aspect_ratio: f.aspect_ratio.value,
      audio_source: f.audio_source.value,
      color_strength: Number(f.color_strength.value),
      transitions: f.transitions.checked,
      beat_sync: f.beat_sync.checked,
      footage_order: f.footage_order.value,
    };
    if (f.resolution.value !== "") cfg.resolution = Number(f.resolution.value);
    if (f.duration_seconds.value !== "") cfg.duration_seconds = Number(f.duration_seconds.value);
    if (f.music_start_seconds.value !== "") cfg.music_start_seconds = Number(f.music_start_seconds.value);
    return cfg;
  }

  /** What a job does, in words (template or saved style, its clips, its song). */
  function jobSummary(j) {
    if (j.mode !== "apply") return "Extract the Style DNA of " + j.video_id;
    const clips = j.footage_video_ids && j.footage_video_ids.length > 1
      ? j.footage_video_ids.length + " clips (" + j.footage_video_ids.join(", ") + ")" : "footage " + j.video_id;
    return "Apply " + styleSource(j) + " to " + clips + (j.music_audio_id ? ", cut to the song " + j.music_audio_id : "");
  }

  function styleSource(j) {
    if (!j.style_id) return "template " + j.template_video_id;
    const s = state.styles.find((x) => x.style_id === j.style_id);
    return "saved style " + (s ? "“" + s.name + "” (" + j.style_id + ")" : j.style_id);
  }

  /* ---------------------------------------------------------------- jobs list + polling */
  async function loadJobs(page) {
    const errNode = $("#jobs-error");
    try {
      const data = await api("/jobs?page=" + page + "&page_size=10");
      showError(errNode, null);
      state.page = data.page;
      state.totalPages = data.total_pages;
      for (const j of data.jobs) state.jobs[j.job_id] = j;
      renderJobs(data.jobs);
      $("#jobs-page").textContent = data.total ? "page " + data.page + " of " + data.total_pages + " · " + data.total + " jobs" : "";
      $("#jobs-prev").disabled = data.page <= 1;
      $("#jobs-next").disabled = data.page >= data.total_pages;
      for (const j of data.jobs) if (!TERMINAL.has(j.status)) watch(j.job_id);
      refreshCompareChoices();
    } catch (err) {
      showError(errNode, err);
    }
  }

  function renderJobs(jobs) {
    const body = $("#jobs-body");
    body.replaceChildren();
    if (!jobs.length) { body.append(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No jobs yet." }))); return; }
    for (const j of jobs) body.append(jobRow(j));
  }

  function jobRow(j) {
    const tr = el("tr", { id: "job-row-" + j.job_id, dataset: { jobId: j.job_id, status: j.status } });
    tr.append(
      el("td", {}, el("button", { type: "button", class: "link", text: j.job_id, "aria-label": "Open job " + j.job_id, dataset: { focus: "open-" + j.job_id }, onclick: () => openDetail(j.job_id, true) })),
      el("td", { text: j.mode + (j.footage_video_ids && j.footage_video_ids.length > 1 ? " · " + j.footage_video_ids.length + " clips" : "") +
        (j.style_id ? " · saved style" : "") + (j.music_audio_id ? " · song" : "") }),
      el("td", {}, [el("span", { class: "badge " + j.status, text: j.status }),
        j.error ? el("span", { class: "row-error", text: " " + j.error.code + (j.error.stage ? " in " + j.error.stage : "") }) : null]),
      el("td", { class: "progress-cell" }, progressBlock(j)),
      el("td", { text: fmtTime(j.created_at) }),
      el("td", {}, TERMINAL.has(j.status) ? null
        : el("button", { type: "button", class: "small danger", text: "Cancel", "aria-label": "Cancel job " + j.job_id, dataset: { focus: "cancel-" + j.job_id }, onclick: () => cancelJob(j.job_id) })),
    );
    return tr;
  }

  function progressBlock(j) {
    const stage = j.current_stage ? STAGE_LABEL[j.current_stage] || j.current_stage : j.status === "queued" ? "waiting in the queue" : j.status;
    return el("div", { class: "job-progress" }, [
      el("progress", { max: 100, value: j.progress_percent, "aria-label": "Progress of " + j.job_id }),
      el("span", { class: "stage", dataset: { stage: j.current_stage || "" }, text: j.progress_percent + " % · " + stage }),
    ]);
  }

  function updateJob(j) {
    state.jobs[j.job_id] = j;
    if (j.current_stage) {
      const seen = state.stagesSeen[j.job_id] || (state.stagesSeen[j.job_id] = []);
      if (seen[seen.length - 1] !== j.current_stage) seen.push(j.current_stage);
    }
    const row = $("#job-row-" + j.job_id);
    if (row) {
      keepFocus(() => {
        const fresh = jobRow(j);
        fresh.dataset.stagesSeen = (state.stagesSeen[j.job_id] || []).join(",");
        row.replaceWith(fresh);
      });
    }
    if (state.detailJob === j.job_id) keepFocus(() => renderDetailStatus(j));
  }

  /** Re-rendering must not lose keyboard focus: refocus the element with the same data-focus key (or its fallback). */
  function keepFocus(render) {
    const active = document.activeElement;
    const key = active && active.dataset ? active.dataset.focus : null;
    render();
    if (!key || document.activeElement !== document.body && document.contains(active)) return;
    const again = document.querySelector('[data-focus="' + key + '"]');
    if (again) again.focus();
    else if (key.startsWith("cancel-")) { const open = document.querySelector('[data-focus="open-' + key.slice(7) + '"]'); if (open) open.focus(); }
    else if (key === "detail-cancel") { const h = $("#detail-status h3"); if (h) { h.tabIndex = -1; h.focus(); } }
  }

  /** Poll one job with backoff (0.3 s growing ×1.5 while nothing changes, to 2 s while processing and
   * 5 s while queued, so short stages still show); stops at a terminal status. */
  function watch(jobId) {
    if (state.watchers[jobId]) return;
    let delay = 300;
    let last = "";
    const tick = async () => {
      try {
        const j = await api("/jobs/" + jobId);
        const sig = j.status + "|" + j.progress_percent + "|" + j.current_stage;
        delay = sig === last ? Math.min(delay * 1.5, j.status === "processing" ? 2000 : 5000) : 300;
        last = sig;
        updateJob(j);
        if (TERMINAL.has(j.status)) {
          delete state.watchers[jobId];
          refreshCompareChoices();
          if (state.detailJob === jobId) openDetail(jobId, false);
          return;
        }
      } catch (err) {
        delay = Math.min(delay * 2, 15000);
        if (err.status === 404 || err.status === 401) { delete state.watchers[jobId]; return; }
      }
      state.watchers[jobId] = setTimeout(tick, delay);
    };
    state.watchers[jobId] = setTimeout(tick, 0);
  }

  async function cancelJob(jobId) {
    try {
      const j = await api("/jobs/" + jobId + "/cancel", { method: "POST" });
      updateJob(j);
    } catch (err) {
      showError($("#jobs-error"), err);
    }
  }

  /* ---------------------------------------------------------------- job detail */
  function openDetail(jobId, scroll) {
    state.detailJob = jobId;
    const body = $("#detail-body");
    const j = state.jobs[jobId];
    body.replaceChildren(
      el("div", { class: "card", id: "detail-status" }),
      el("div", { id: "detail-result" }),
    );
    if (j) renderDetailStatus(j);
    if (j && j.status === "completed") loadResult(jobId);
    else if (j && !TERMINAL.has(j.status)) watch(jobId);
    if (scroll) $("#detail").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function renderDetailStatus(j) {
    const box = $("#detail-status");
    if (!box) return;
    const stages = STAGES[j.mode] || STAGES.apply;
    const seen = state.stagesSeen[j.job_id] || [];
    const current = j.current_stage;
    const failedAt = j.status === "failed" && j.error && j.error.stage ? stages.indexOf(j.error.stage) : -1;
    const idx = current ? stages.indexOf(current) : j.status === "completed" ? stages.length : failedAt;
    const steps = el("ol", { class: "stepper", "aria-label": "Stages" });
    stages.forEach((s, i) => {
      const st = i < idx ? "done" : i === idx ? (failedAt >= 0 ? "failed" : "current") : "todo";
      steps.append(el("li", { class: st + (seen.includes(s) ? " seen" : ""), dataset: { stage: s }, "aria-current": st === "current" ? "step" : null, text: STAGE_LABEL[s] }));
    });
    box.replaceChildren();
    append(box, [
      el("h3", {}, ["Job ", el("code", { text: j.job_id }), " ", el("span", { class: "badge " + j.status, text: j.status })]),
      el("p", { class: "muted", text: jobSummary(j) + " · created " + fmtTime(j.created_at) }),
      el("div", { class: "big-progress", id: "detail-progress", dataset: { stage: current || "", status: j.status, percent: j.progress_percent, stagesSeen: seen.join(",") } }, [
        el("progress", { max: 100, value: j.progress_percent, "aria-label": "Job progress" }),
        el("span", { text: j.progress_percent + " %" + (current ? " · " + STAGE_LABEL[current] : "") }),
      ]),
      steps,
      j.error ? el("p", { class: "error", role: "alert", text: "Failed" + (j.error.stage ? " in " + (STAGE_LABEL[j.error.stage] || j.error.stage) : "") + ": " + j.error.message + " (" + j.error.code + ")" }) : null,
      TERMINAL.has(j.status) ? null : el("button", { type: "button", class: "danger", text: "Cancel job", dataset: { focus: "detail-cancel" }, onclick: () => cancelJob(j.job_id) }),
    ]);
  }

  async function loadResult(jobId) {
    const out = $("#detail-result");
    out.replaceChildren(el("p", { class: "muted", text: "Loading the result…" }));
    try {
      const r = state.results[jobId] || await api("/jobs/" + jobId + "/result");
      r._fetchedAt = r._fetchedAt || Date.now();
      state.results[jobId] = r;
      if (state.detailJob !== jobId) return;
      renderResult(r, out);
    } catch (err) {
      const p = el("p", { class: "error", role: "alert" });
      showError(p, err);
      out.replaceChildren(p);
    }
  }

  function renderResult(r, out) {
    out.replaceChildren();
    const dna = r.style_json;
    const arts = r.artifacts || {};
    const links = el("ul", { class: "downloads", "aria-label": "Downloads" });
    // the v1.0 artifacts first, then the editor timelines (API v1.1) and any other the job lists
    const names = { output: "Output video (MP4)", lut: "Colour LUT (.cube)", edit_plan: "Edit plan (JSON)", style_dna: "Style DNA (JSON)",
      timeline_otio: "Timeline (OpenTimelineIO)", timeline_fcpxml: "Timeline (FCPXML)", timeline_xml: "Timeline (FCP 7 XML)",
      timeline_edl: "Timeline (EDL)", timeline_mlt: "Timeline (MLT)", project: "Editor project (.zip)" };
    const order = Object.keys(names).concat(Object.keys(arts).filter((k) => !(k in names)).sort());
    for (const k of order) {
      if (arts[k]) links.append(el("li", {}, el("a", { class: "button", href: localUrl(arts[k]), download: r.job_id + "-" + k, dataset: { artifact: k }, text: "Download " + (names[k] || k.replace(/_/g, " ")), onclick: refreshStale(r) })));
    }
    out.append(el("div", { class: "card" }, [
      el("h3", { text: "Result" }),
      dl([["Processing time", fmtNum(r.processing_time_seconds, 1) + " s"], ["Completed", fmtTime(r.completed_at)]].concat(
        r.output_metadata ? [["Output", r.output_metadata.width + " × " + r.output_metadata.height + " · " + fmtNum(r.output_metadata.duration_seconds, 2) + " s · " +
          fmtNum(r.output_metadata.frame_rate, 3) + " fps · " + r.output_metadata.codec + (r.output_metadata.has_audio ? " + " + r.output_metadata.audio_codec : " (no audio)")]] : [])),
      links,
    ]));
    if (r.mode === "apply" && r.output_video_url) out.append(renderApply(r));
    if (dna) out.append(saveStyleForm(r));
    if (dna) out.append(renderDna(dna, r.mode !== "apply" ? "Style DNA" : r.style_id ? "Style DNA of the saved style" : "Style DNA of the template", arts.style_dna, r.job_id));
    else out.append(el("p", { class: "muted", text: "This job has no Style DNA." }));
  }

  /** Signed URLs expire (CLIPZY_URL_TOKEN_TTL_SECONDS, 1 h by default): reload the result before using old ones. */
  const STALE_MS = 45 * 60 * 1000;
  function refreshStale(r) {
    return (e) => {
      if (!r._fetchedAt || Date.now() - r._fetchedAt < STALE_MS || !/[?&]token=/.test(e.currentTarget.href)) return;
      e.preventDefault();
      delete state.results[r.job_id];
      loadResult(r.job_id);
    };
  }

  /* ---------------------------------------------------------------- Style DNA pictures */
  function renderDna(dna, title, dnaUrl, jobId) {
    const wrap = el("div", { class: "dna", id: "dna-view" });
    wrap.append(el("h3", { text: title }));
    const pt = dna.primary_transition;
    const st = dna.secondary_transition;
    const tr = (t) => t ? t.type + (t.duration_ms ? " " + t.duration_ms + " ms, " + t.easing : "") : "none";
    wrap.append(el("div", { class: "card" }, dl([
      ["Aspect · frame rate", dna.aspect_ratio + " · " + fmtNum(dna.frame_rate, 3) + " fps" + (dna.resolution ? " · " + dna.resolution.width + " × " + dna.resolution.height : "")],
      ["Duration", typeof dna.source_duration_seconds === "number" ? dna.source_duration_seconds.toFixed(2) + " s" : "–"],
      ["Cuts per minute", fmtNum(dna.cut_frequency, 1) + (dna.pacing ? " · " + dna.pacing.shot_count + " shots, median " + fmtNum(dna.pacing.median_shot_ms, 0) + " ms" : "")],
      ["Transitions", "primary " + tr(pt) + " · secondary " + tr(st)],
      ["Tempo", dna.tempo_bpm === null ? "no music" : fmtNum(dna.tempo_bpm, 1) + " BPM"],
      ["Motion · zoom usage", fmtNum(dna.motion_intensity, 1) + " / 100 · " + fmtNum(dna.zoom_usage, 0) + " % of shots"],
      ["Subtitles", dna.use_subtitles === null ? "text detection unavailable" : dna.use_subtitles ? "yes" : "no"],
      ["Extraction confidence", fmtNum(dna.extraction_confidence, 3)],
    ])));

    const grid = el("div", { class: "cards" });
    grid.append(el("div", { class: "card" }, [el("h4", { text: "Palette" }), palette(dna.color_profile && dna.color_profile.palette)]));
    grid.append(el("div", { class: "card" }, [el("h4", { text: "Colour grade" }), gradeBars(dna.color_grade || {})]));
    grid.append(el("div", { class: "card" }, [el("h4", { text: "Loudness" }), loudness(dna.loudness || {}, dna.audio_style || {})]));
    wrap.append(grid);

    wrap.append(el("div", { class: "card" }, [el("h4", { text: "Shot timeline, transitions, beats and motion" }), timeline(dna)]));
    wrap.append(el("div", { class: "card" }, [el("h4", { text: "Text overlays" }), textOverlays(dna.text_overlays || [])]));

    const json = JSON.stringify(dna, null, 2);
    const pre = el("pre", { class: "raw", id: "raw-json", hidden: true, tabindex: 0, text: json });
    const toggle = el("button", { type: "button", id: "raw-toggle", "aria-expanded": "false", "aria-controls": "raw-json", text: "Show raw JSON" });
    toggle.addEventListener("click", () => {
      pre.hidden = !pre.hidden;
      toggle.setAttribute("aria-expanded", String(!pre.hidden));
      toggle.textContent = pre.hidden ? "Show raw JSON" : "Hide raw JSON";
    });
    const href = dnaUrl ? localUrl(dnaUrl) : URL.createObjectURL(new Blob([json], { type: "application/json" }));
    wrap.append(el("div", { class: "card" }, [
      el("div", { class: "toolbar" }, [toggle, el("a", { class: "button", href, download: (jobId || "style") + "-style_dna.json", text: "Download JSON" })]),
      pre,
    ]));
    return wrap;
  }

  function palette(pal) {
    if (!pal || !pal.length) return el("p", { class: "muted", text: "No palette measured." });
    const box = el("div", { class: "palette", role: "list" });
    for (const p of pal) {
      box.append(el("div", { class: "swatch", role: "listitem", title: p.hex + " · " + Math.round(p.weight * 100) + " %", style: { flexGrow: String(Math.max(p.weight, 0.02)) } }, [
        el("span", { class: "chip", style: { background: p.hex } }),
        el("span", { class: "swatch-label", text: p.hex }),
        el("span", { class: "swatch-label", text: Math.round(p.weight * 100) + " %" }),
      ]));
    }
    return box;
  }

  function gradeBars(g) {
    const box = el("div", { class: "grades" });
    for (const k of ["temperature", "tint", "saturation", "contrast", "highlights", "shadows"]) {
      const v = g[k];
      const bar = el("div", { class: "centre-bar", role: "meter", "aria-label": k, "aria-valuemin": -100, "aria-valuemax": 100, "aria-valuenow": v === null || v === undefined ? null : v });
      if (v !== null && v !== undefined) {
        const w = Math.min(Math.abs(v), 100) / 2;
        bar.append(el("span", { class: "fill " + (v < 0 ? "neg" : "pos"), style: { left: (v < 0 ? 50 - w : 50) + "%", width: w + "%" } }));
      }
      bar.append(el("span", { class: "zero" }));
      box.append(el("div", { class: "grade-row", dataset: { grade: k } }, [
        el("span", { class: "grade-name", text: k }), bar, el("span", { class: "grade-val", text: v === null || v === undefined ? "–" : fmtNum(v, 1) }),
      ]));
    }
    box.append(el("p", { class: "muted small-text", text: "−100 … 0 … +100; 0 = neutral." }));
    return box;
  }

  function meter(label, value, unit, lo, hi) {
    const ok = value !== null && value !== undefined;
    const pct = ok ? Math.max(0, Math.min(1, (value - lo) / (hi - lo))) * 100 : 0;
    return el("div", { class: "meter-row" }, [
      el("span", { class: "grade-name", text: label }),
      el("div", { class: "meter", role: "meter", "aria-label": label, "aria-valuemin": lo, "aria-valuemax": hi, "aria-valuenow": ok ? value : null },
        el("span", { class: "fill pos", style: { left: "0", width: pct + "%" } })),
      el("span", { class: "grade-val", text: ok ? fmtNum(value, 1) + " " + unit : "–" }),
    ]);
  }

  function loudness(l, a) {
    const box = el("div", { class: "loudness" });
    box.append(meter("integrated", l.integrated_lufs, "LUFS", -60, 0), meter("range", l.loudness_range_lu, "LU", 0, 30), meter("true peak", l.true_peak_dbtp, "dBTP", -40, 3));
    const sp = l.speech_ratio;
    const strip = el("div", { class: "strip", role: "img", "aria-label": "speech " + (sp === null || sp === undefined ? "not measured" : Math.round(sp * 100) + " % of the time") + ", music " + (l.music_present ? "present" : l.music_present === false ? "absent" : "not measured") });
    if (sp !== null && sp !== undefined) {
      strip.append(el("span", { class: "speech", style: { width: sp * 100 + "%" }, text: sp >= 0.12 ? "speech " + Math.round(sp * 100) + "%" : "" }));
      strip.append(el("span", { class: l.music_present ? "music" : "other", style: { width: (1 - sp) * 100 + "%" }, text: (1 - sp) >= 0.12 ? (l.music_present ? "music / other" : "no speech") : "" }));
    }
    box.append(el("h5", { text: "Speech / music" }), strip,
      el("p", { class: "small-text", text: "Music " + (l.music_present === null || l.music_present === undefined ? "not measured" : l.music_present ? "present" : "absent") +
        " · speech " + (sp === null || sp === undefined ? "not measured" : Math.round(sp * 100) + " % of the time") +
        (a.bass_boost !== null && a.bass_boost !== undefined ? " · bass boost " + fmtNum(a.bass_boost, 0) : "") +
        (a.compression_ratio ? " · compression " + fmtNum(a.compression_ratio, 2) + ":1" : "") }));
    return box;
  }

  function timeline(dna) {
    const W = 1000, X0 = 10, X1 = 990;
    const dur = Math.max(1, (dna.source_duration_seconds || 0) * 1000);
    const x = (ms) => X0 + (X1 - X0) * Math.max(0, Math.min(1, ms / dur));
    const shots = dna.shots || [];
    const trans = dna.transitions || [];
    const beats = (dna.beats && dna.beats.beat_times_ms) || (dna.detected_beats || []).map((b) => b.timestamp_ms);
    const downs = (dna.beats && dna.beats.downbeat_times_ms) || [];
    const perShot = (dna.motion && dna.motion.per_shot) || [];
    const svg = sv("svg", { viewBox: "0 0 " + W + " 150", class: "timeline", role: "img", id: "timeline",
      "aria-label": shots.length + " shots, " + trans.length + " transitions, " + beats.length + " beats, " + downs.length + " downbeats over " + fmtMs(dur) });
    svg.append(sv("title", { text: "Shot timeline" }));
    // time axis
    const step = [500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000].find((s) => dur / s <= 12) || 600000;
    for (let t = 0; t <= dur; t += step) {
      svg.append(sv("line", { x1: x(t), x2: x(t), y1: 12, y2: 16, class: "tick" }), sv("text", { x: x(t), y: 10, class: "tick-label", "text-anchor": "middle", text: (t / 1000) + "s" }));
    }
    // shots
    const gShots = sv("g", { class: "shots" });
    shots.forEach((s, i) => {
      gShots.append(sv("rect", { x: x(s.start_ms), y: 20, width: Math.max(0.5, x(s.end_ms) - x(s.start_ms)), height: 44, class: "shot " + (i % 2 ? "odd" : "even"), "data-shot": i },
        sv("title", { text: "Shot " + (i + 1) + ": " + fmtMs(s.start_ms) + " – " + fmtMs(s.end_ms) })));
    });
    svg.append(gShots);
    // transitions
    const gTr = sv("g", { class: "transitions" });
    for (const t of trans) {
      const c = TRANSITION_COLOUR[t.type] || "#000";
      const tip = sv("title", { text: t.type + " at " + fmtMs(t.start_ms) + (t.end_ms > t.start_ms ? " – " + fmtMs(t.end_ms) : "") + (t.confidence !== undefined && t.confidence !== null ? " (confidence " + fmtNum(t.confidence, 2) + ")" : "") });
      if (t.type === "cut" || t.end_ms <= t.start_ms) gTr.append(sv("line", { x1: x(t.start_ms), x2: x(t.start_ms), y1: 18, y2: 66, stroke: c, "stroke-width": 3, "data-type": t.type, class: "transition" }, tip));
      else gTr.append(sv("rect", { x: x(t.start_ms), y: 18, width: Math.max(2, x(t.end_ms) - x(t.start_ms)), height: 48, fill: c, "fill-opacity": 0.55, "data-type": t.type, class: "transition" }, tip));
    }
    svg.append(gTr);
    // beat grid and downbeats over the shots
    const gB = sv("g", { class: "beats" });
    const band = {};
    for (const d of dna.detected_beats || []) band[d.timestamp_ms] = d;
    for (const b of beats) {
      const d = band[b];
      gB.append(sv("line", { x1: x(b), x2: x(b), y1: 20, y2: 64, class: "beat" + (d && d.frequency ? " " + d.frequency : "") },
        sv("title", { text: "beat at " + fmtMs(b) + (d ? " · " + d.frequency + " · confidence " + fmtNum(d.confidence, 2) : "") })));
    }
    for (const b of downs) gB.append(sv("line", { x1: x(b), x2: x(b), y1: 16, y2: 68, class: "downbeat" }));
    svg.append(gB);
    // motion intensity per shot (bars, 0..100)
    svg.append(sv("text", { x: X0, y: 82, class: "tick-label", text: "motion intensity per shot (0–100)" }));
    const gM = sv("g", { class: "motion" });
    shots.forEach((s, i) => {
      const m = perShot[i] || {};
      const v = m.intensity;
      const h = v === null || v === undefined ? 0 : 56 * Math.min(100, v) / 100;
      const detail = "Shot " + (i + 1) + ": intensity " + fmtNum(v, 1) + ["zoom", "pan", "tilt", "shake"].map((k) => m[k] !== undefined ? ", " + k + " " + fmtNum(m[k], 2) : "").join("");
      gM.append(sv("rect", { x: x(s.start_ms) + 1, y: 144 - h, width: Math.max(0.5, x(s.end_ms) - x(s.start_ms) - 2), height: h, class: "motion-bar", "data-intensity": v === null || v === undefined ? "" : v }, sv("title", { text: detail })));
    });
    gM.append(sv("line", { x1: X0, x2: X1, y1: 144, y2: 144, class: "tick" }));
    svg.append(gM);

    const legend = el("ul", { class: "legend" }, [
      el("li", {}, [el("span", { class: "key shot-key" }), "shot"]),
      ...Object.entries(TRANSITION_COLOUR).map(([k, c]) => el("li", {}, [el("span", { class: "key", style: { background: c } }), k])),
      el("li", {}, [el("span", { class: "key beat-key" }), "beat (blue bass, violet mid, pink treble)"]),
      el("li", {}, [el("span", { class: "key downbeat-key" }), "downbeat"]),
      el("li", {}, [el("span", { class: "key motion-key" }), "motion"]),
    ]);
    const cam = dna.motion && dna.motion.camera;
    let camBar = null;
    if (cam && Object.values(cam).some((v) => typeof v === "number" && v > 0)) {
      camBar = el("div", { class: "camera", role: "img", "aria-label": "camera movement: " + Object.entries(cam).map(([k, v]) => k + " " + Math.round((v || 0) * 100) + " %").join(", ") });
      for (const [k, v] of Object.entries(cam)) {
        if (typeof v === "number" && v > 0) camBar.append(el("span", { class: "cam-" + k, style: { width: v * 100 + "%" }, title: k + " " + Math.round(v * 100) + " %", text: v >= 0.1 ? k + " " + Math.round(v * 100) + "%" : "" }));
      }
    }
    return el("div", {}, [el("div", { class: "svg-wrap" }, svg), legend,
      camBar ? el("h5", { text: "Camera movement (share of time)" }) : null, camBar,
      el("p", { class: "small-text muted", text: shots.length + " shots · " + trans.length + " transitions · " + beats.length + " beats · " + downs.length + " downbeats" +
        (dna.pacing && dna.pacing.cuts_on_beat_ratio !== null && dna.pacing.cuts_on_beat_ratio !== undefined ? " · " + Math.round(dna.pacing.cuts_on_beat_ratio * 100) + " % of cuts on a beat" : "") })]);
  }

  function textOverlays(list) {
    if (!list.length) return el("p", { class: "muted", text: "No text stays on screen." });
    const cells = ["top-left", "top-center", "top-right", "middle-left", "center", "middle-right", "bottom-left", "bottom-center", "bottom-right"];
    const tbody = el("tbody");
    for (const t of list) {
      const grid = el("span", { class: "pos-grid", role: "img", "aria-label": t.position });
      for (const c of cells) grid.append(el("span", { class: c === t.position ? "on" : "" }));
      tbody.append(el("tr", {}, [
        el("td", { text: t.content }), el("td", {}, [grid, " ", t.position]), el("td", { text: typeof t.size === "number" ? Math.round(t.size) + " px" : "–" }),
        el("td", {}, t.color ? [el("span", { class: "chip inline", style: { background: t.color } }), " ", t.color] : "–"),
        el("td", { text: fmtMs(t.start_ms) }), el("td", { text: fmtMs(t.duration_ms) }),
      ]));
    }
    return el("div", { class: "table-wrap" }, el("table", {}, [
      el("thead", {}, el("tr", {}, ["Text", "Position", "Size", "Colour", "Start", "Duration"].map((h) => el("th", { scope: "col", text: h })))), tbody]));
  }

  /* ---------------------------------------------------------------- apply view */
  function renderApply(r) {
    const tpl = state.videos[r.template_video_id];
    const ids = jobClips(r);
    const foot = state.videos[ids[0]];
    const outUrl = localUrl(r.output_video_url);
    const notHere = "The original is shown only in the browser tab that uploaded it (the API serves uploaded videos to the engine, not back to browsers).";
    const vid = (label, src, id, note) => el("figure", { class: "vid" }, [
      src ? el("video", { id, src, controls: true, muted: true, playsinline: true, preload: "metadata" })
        : el("p", { class: "muted novid", text: note || notHere }),
      el("figcaption", { text: label }),
    ]);
    const onVideoError = () => {
      if (r._fetchedAt && Date.now() - r._fetchedAt > 60000 && state.results[r.job_id] === r) { delete state.results[r.job_id]; loadResult(r.job_id); }
    };
    const box = el("div", { class: "card apply" }, [
      el("h3", { text: (r.style_id ? "Saved style" : "Template") + ", footage and output" }),
      el("div", { class: "side-by-side" }, [
        r.style_id ? vid("Style", null, "vid-template", "Applied the " + styleSource(r) + " (no template video).")
          : vid("Template", tpl && tpl.objectUrl, "vid-template"),
        vid(ids.length > 1 ? "Footage (clip 1 of " + ids.length + ")" : "Footage", foot && foot.objectUrl, "vid-footage"),
        vid("Output", outUrl, "vid-output"),
      ]),
    ]);
    const outVid = $("#vid-output", box);
    if (outVid) outVid.addEventListener("error", onVideoError);
    box.append(clipsView(r));
    box.append(splitView(r, outUrl));
    return box;
  }

  function clipUrl(id) {
    const v = state.videos[id];
    return v && v.objectUrl ? v.objectUrl : null;
  }

  /** Before/after of one output frame: the frame of the clip the edit plan maps it to (cropped) vs. the output. */
  function splitView(r, outUrl) {
    const wrap = el("div", { class: "split", id: "split-view" }, [el("h4", { text: "Before / after (one frame)" })]);
    const ids = jobClips(r);
    let beforeId = ids.find(clipUrl);
    if (!beforeId) {
      wrap.append(el("p", { class: "muted", text: "Upload the footage in this tab to compare it frame by frame with the output." }));
      return wrap;
    }
    const canvas = el("canvas", { class: "split-canvas", width: 640, height: 360, tabindex: 0, "aria-label": "Before/after split view; left of the divider is the footage, right is the output. Use the slider or arrow keys to move the divider." });
    const divider = el("input", { type: "range", min: 0, max: 100, value: 50, id: "split-divider", "aria-label": "Divider position (percent)" });
    const time = el("input", { type: "range", min: 0, max: 1000, value: 250, id: "split-time", "aria-label": "Frame time in the output" });
    const info = el("p", { class: "small-text muted", "aria-live": "polite" });
    const before = el("video", { src: clipUrl(beforeId), muted: true, preload: "auto", playsinline: true, class: "offscreen" });
    const after = el("video", { src: outUrl, muted: true, preload: "auto", playsinline: true, class: "offscreen" });
    wrap.append(canvas, el("div", { class: "grid2" }, [
      el("label", {}, ["Divider ", divider]), el("label", {}, ["Frame ", time]),
    ]), info, before, after);

    let plan = null;
    let crop = null;
    let wanted = beforeId; // the clip the current output frame comes from
    const ctx = canvas.getContext("2d");
    const draw = () => {
      if (!after.videoWidth) return;
      const W = canvas.width, H = canvas.height;
      const split = Math.round(W * divider.value / 100);
      ctx.clearRect(0, 0, W, H);
      ctx.drawImage(after, 0, 0, W, H);
      if (before.videoWidth && wanted === beforeId && before.readyState >= 2) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(0, 0, split, H);
        ctx.clip();
        if (crop) ctx.drawImage(before, crop.x, crop.y, crop.width, crop.height, 0, 0, W, H);
        else ctx.drawImage(before, 0, 0, W, H);
        ctx.restore();
      }
      ctx.fillStyle = "#fff";
      ctx.fillRect(split - 1, 0, 2, H);
      ctx.font = "14px system-ui, sans-serif";
      ctx.fillStyle = "rgba(0,0,0,.6)";
      ctx.fillRect(6, 6, 70, 22); ctx.fillRect(W - 76, 6, 70, 22);
      ctx.fillStyle = "#fff";
      ctx.fillText("before", 14, 22); ctx.fillText("after", W - 64, 22);
    };
    const seekBoth = () => {
      const dur = after.duration;
      if (!isFinite(dur) || dur <= 0) return;
      const tOut = dur * time.value / 1000;
      let tIn = tOut;
      crop = null;
      if (plan && plan.segments) {
        const ms = tOut * 1000;
        const seg = plan.segments.find((s) => ms >= s.output_in_ms && ms < s.output_out_ms) || plan.segments[plan.segments.length - 1];
        if (seg) {
          const rel = ms - seg.output_in_ms;
          tIn = (seg.footage_in_ms + rel) / 1000;
          crop = cropAt(seg.crop || [], rel);
          wanted = seg.video_id || ids[0];
          const src = clipUrl(wanted);
          if (src && wanted !== beforeId) { beforeId = wanted; before.src = src; } // its loadedmetadata seeks again
          info.textContent = "Output " + tOut.toFixed(2) + " s ← " + (ids.length > 1 ? clipLabel(wanted, ids).text + " at " : "footage ") + tIn.toFixed(2) + " s (segment " + (seg.index + 1) +
            (seg.transition_in ? ", enters by " + seg.transition_in.type : "") + ")" + (src ? "" : "; that clip was not uploaded in this tab");
        }
      } else {
        info.textContent = "Output " + tOut.toFixed(2) + " s (no edit plan: the footage is shown at the same time)";
      }
      after.currentTime = Math.min(tOut, Math.max(0, dur - 0.05));
      if (wanted === beforeId && isFinite(before.duration)) before.currentTime = Math.min(tIn, Math.max(0, before.duration - 0.05));
    };
    after.addEventListener("loadedmetadata", () => {
      canvas.height = Math.round(canvas.width * after.videoHeight / Math.max(1, after.videoWidth));
      seekBoth();
    });
    after.addEventListener("seeked", draw);
    before.addEventListener("seeked", draw);
    before.addEventListener("loadedmetadata", seekBoth);
    divider.addEventListener("input", draw);
    time.addEventListener("input", seekBoth);
    let dragging = false;
    const fromPointer = (e) => {
      const rect = canvas.getBoundingClientRect();
      divider.value = String(Math.round(100 * Math.max(0, Math.min(1, (e.clientX - rect.left) / rect.width))));
      draw();
    };
    canvas.addEventListener("pointerdown", (e) => { dragging = true; canvas.setPointerCapture(e.pointerId); fromPointer(e); });
    canvas.addEventListener("pointermove", (e) => { if (dragging) fromPointer(e); });
    canvas.addEventListener("pointerup", () => { dragging = false; });
    canvas.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        divider.value = String(Number(divider.value) + (e.key === "ArrowLeft" ? -5 : 5));
        draw();
        e.preventDefault();
      }
    });
    loadPlan(r).then((p) => { plan = p; seekBoth(); });
    return wrap;
  }

  function cropAt(keys, relMs) {
    if (!keys.length) return null;
    if (relMs <= keys[0].t_ms) return keys[0];
    for (let i = 1; i < keys.length; i++) {
      if (relMs <= keys[i].t_ms) {
        const a = keys[i - 1], b = keys[i];
        const f = (relMs - a.t_ms) / Math.max(1, b.t_ms - a.t_ms);
        const lerp = (p, q) => p + (q - p) * f;
        return { x: lerp(a.x, b.x), y: lerp(a.y, b.y), width: lerp(a.width, b.width), height: lerp(a.height, b.height) };
      }
    }
    return keys[keys.length - 1];
  }

  /* ---------------------------------------------------------------- saved styles */
  async function loadStyles() {
    const errNode = $("#styles-error");
    try {
      const data = await api("/styles?page=1&page_size=100");
      showError(errNode, null);
      state.styles = data.styles;
      keepFocus(() => renderStyles(data));
      fillStylePicker();
    } catch (err) {
      showError(errNode, err);
    }
  }

  function renderStyles(data) {
    const body = $("#styles-body");
    body.replaceChildren();
    $("#styles-count").textContent = data.total ? data.total + (data.total === 1 ? " style" : " styles") +
      (data.total > data.styles.length ? " (the newest " + data.styles.length + " shown)" : "") : "";
    if (!data.styles.length) {
      body.append(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No saved styles yet. Save one from a completed job's result." })));
      return;
    }
    for (const s of data.styles) body.append(styleRow(s));
  }

  function styleRow(s) {
    const sm = s.summary || {};
    const t = sm.primary_transition;
    const swatches = el("span", { class: "swatches", role: "img", "aria-label": "palette " + ((sm.palette || []).join(", ") || "not measured") },
      (sm.palette || []).map((hex) => el("span", { class: "chip inline", title: hex, style: { background: hex } })));
    const del = el("button", { type: "button", class: "small danger", text: "Delete", "aria-label": "Delete the style " + s.name,
      dataset: { focus: "style-delete-" + s.style_id } });
    del.addEventListener("click", () => deleteStyle(s, del));
    return el("tr", { id: "style-row-" + s.style_id, dataset: { styleId: s.style_id } }, [
      el("th", { scope: "row" }, [el("span", { class: "style-name", text: s.name }), el("span", { class: "row-sub muted", text: s.style_id + " · " + fmtTime(s.created_at) })]),
      el("td", { class: "num", dataset: { field: "cut_frequency" }, text: sm.cut_frequency === null || sm.cut_frequency === undefined ? "–" : fmtNum(sm.cut_frequency, 1) }),
      el("td", { class: "num", dataset: { field: "tempo_bpm" }, text: sm.tempo_bpm === null || sm.tempo_bpm === undefined ? "no music" : fmtNum(sm.tempo_bpm, 1) + " BPM" }),
      el("td", { dataset: { field: "primary_transition" }, text: t ? t.type + (t.duration_ms ? " " + t.duration_ms + " ms" : "") : "–" }),
      el("td", {}, swatches),
      el("td", { class: "actions" }, [
        el("button", { type: "button", class: "small", text: "Use", "aria-label": "Use the style " + s.name + " for a new job",
          dataset: { focus: "style-use-" + s.style_id }, onclick: () => useStyle(s.style_id) }),
        " ", del,
      ]),
    ]);
  }

  function fillStylePicker() {
    const sel = $("#job-style");
    const keep = sel.value;
    sel.replaceChildren(el("option", { value: "", text: "none: use the template video" }),
      ...state.styles.map((s) => el("option", { value: s.style_id, text: s.name + " · " + s.style_id })));
    sel.value = state.styles.some((s) => s.style_id === keep) ? keep : "";
    if (state.syncMode) state.syncMode();
  }

  function useStyle(styleId) {
    const form = $("#job-form");
    form.querySelector("input[name=mode][value=apply]").checked = true;
    $("#job-style").value = styleId;
    state.syncMode();
    $("#new-job").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#job-style").focus();
  }

  /** Delete after a second press of the same button (the first one asks), so one stray click loses nothing. */
  async function deleteStyle(s, btn) {
    const status = $("#styles-status");
    if (btn.dataset.armed !== "1") {
      btn.dataset.armed = "1";
      btn.textContent = "Confirm delete";
      btn.setAttribute("aria-label", "Confirm: delete the style " + s.name);
      status.textContent = "Press again to delete the style “" + s.name + "”.";
      setTimeout(() => { if (document.contains(btn) && btn.dataset.armed === "1") { btn.dataset.armed = ""; btn.textContent = "Delete"; btn.setAttribute("aria-label", "Delete the style " + s.name); } }, 6000);
      return;
    }
    btn.disabled = true;
    try {
      await api("/styles/" + encodeURIComponent(s.style_id), { method: "DELETE" });
      status.textContent = "Deleted the style “" + s.name + "”.";
      const rows = $$("#styles-body tr[data-style-id]");
      const at = rows.findIndex((r) => r.dataset.styleId === s.style_id);
      await loadStyles();
      const left = $$("#styles-body tr[data-style-id] button.danger");
      (left[Math.min(at, left.length - 1)] || $("#styles-refresh")).focus();
    } catch (err) {
      btn.disabled = false;
      showError($("#styles-error"), err);
    }
  }

  /** "Save this style as …" under a completed job's result (POST /styles {name, job_id}). */
  function saveStyleForm(r) {
    const tpl = r.template_video_id && state.videos[r.template_video_id];
    const saved = r.style_id && state.styles.find((s) => s.style_id === r.style_id);
    const guess = saved ? saved.name : tpl ? tpl.video.filename.replace(/\.[^.]+$/, "") : "Style of " + r.job_id;
    const input = el("input", { type: "text", id: "save-style-name", name: "name", maxlength: 100, required: true, value: guess, autocomplete: "off" });
    const status = el("p", { class: "small-text", id: "save-style-status", "aria-live": "polite" });
    const errNode = el("p", { class: "error", role: "alert", id: "save-style-error", hidden: true });
    const button = el("button", { type: "submit", class: "primary", id: "save-style", text: "Save style" });
    const form = el("form", { class: "card save-style", id: "save-style-form", novalidate: true }, [
      el("h4", { text: "Keep this style" }),
      el("p", { class: "small-text muted", text: "Saved styles can be applied to other footage without the template file." }),
      el("div", { class: "inline-form" }, [el("label", {}, ["Save this style as ", input]), button]),
      status, errNode,
    ]);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      showError(errNode, null);
      const name = input.value.trim();
      if (!name) { showError(errNode, "Give the style a name (1–100 characters)."); input.focus(); return; }
      button.disabled = true;
      try {
        const s = await api("/styles", { method: "POST", body: { name, job_id: r.job_id } });
        status.textContent = "Saved as “" + s.name + "” (" + s.style_id + "). It is listed under Saved styles and in the job form.";
        await loadStyles();
      } catch (err) {
        showError(errNode, err);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  /* ---------------------------------------------------------------- shots and their clips */
  const CLIP_COLOURS = 8; // .clip-c0 … .clip-c7 in console.css
  const REASONS = {
    black: "black (too dark to show)", out_of_focus: "out of focus", overexposed: "overexposed (blown out)",
    frozen: "frozen (one repeated frame)", too_short: "too short (under half a second)", not_needed: "not needed (the template's shots were filled)",
  };

  /** The job's edit plan (cached per job); an edit that used this tab's song moves its start marker. */
  function loadPlan(r) {
    if (state.plans[r.job_id]) return state.plans[r.job_id];
    const url = r.artifacts && r.artifacts.edit_plan && localUrl(r.artifacts.edit_plan);
    if (!url) return Promise.resolve(null);
    const p = fetch(url, { headers: apiKey() ? { Authorization: "Bearer " + apiKey() } : {}, cache: "no-store" })
      .then((resp) => (resp.ok ? resp.json() : null)).catch(() => null)
      .then((plan) => {
        if (plan) noteChosenStart(r, plan);
        else delete state.plans[r.job_id];
        return plan;
      });
    state.plans[r.job_id] = p;
    return p;
  }

  function jobClips(r) {
    return r.footage_video_ids && r.footage_video_ids.length ? r.footage_video_ids : [r.video_id];
  }

  function clipLabel(id, ids) {
    const pos = ids.indexOf(id) + 1;
    return { pos, name: clipName(id), text: "Clip " + (pos || "?") + " · " + clipName(id), colour: "clip-c" + ((Math.max(pos, 1) - 1) % CLIP_COLOURS) };
  }

  /** Which clip each output shot comes from (thumbnails over the timeline) and which clips were left out, and why. */
  function clipsView(r) {
    const wrap = el("div", { class: "clips-view", id: "clips-view" }, [
      el("h4", { text: "Shots and the clips they come from" }),
      el("p", { class: "muted small-text", text: "Loading the edit plan…" }),
    ]);
    loadPlan(r).then(async (plan) => {
      const ids = jobClips(r);
      if (!plan || !plan.segments) { wrap.replaceChildren(wrap.firstChild, el("p", { class: "muted", text: "The edit plan could not be loaded." })); return; }
      await Promise.all(ids.map((id) => ensureVideo(id).catch(() => null)));
      wrap.replaceChildren(wrap.firstChild, shotStrip(r, plan, ids), el("h5", { text: "Clips" }), selectionList(plan, ids), soundtrackNote(r, plan));
    });
    return wrap;
  }

  /** One cell per plan segment, as wide as its share of the output, with a frame of the output at its middle. */
  function shotStrip(r, plan, ids) {
    const segs = plan.segments;
    const total = (plan.output && plan.output.duration_ms) || (segs.length ? segs[segs.length - 1].output_out_ms : 0) || 1;
    const shortest = Math.max(1, Math.min(...segs.map((s) => s.output_out_ms - s.output_in_ms)));
    const minWidth = Math.min(8000, Math.ceil(72 * total / shortest)); // the shortest cell stays about 72 px wide
    const out = plan.output || {};
    const thumbH = Math.max(1, Math.round(160 * (out.height || 9) / (out.width || 16)));
    const strip = el("ol", { class: "shot-strip", id: "shot-strip", "aria-label": segs.length + " shots of the output, each with the clip it comes from" });
    const cells = segs.map((s, i) => {
      const lab = clipLabel(s.video_id || r.video_id, ids);
      const dur = s.output_out_ms - s.output_in_ms;
      const cell = el("li", {
        class: "shot-cell " + lab.colour, style: { width: (100 * dur / total) + "%" },
        title: "Shot " + (i + 1) + ": " + lab.text + " (" + fmtMs(s.footage_in_ms) + "–" + fmtMs(s.footage_out_ms) + " of the clip)",
        dataset: { segment: String(s.index === undefined ? i : s.index), videoId: s.video_id || r.video_id, clip: String(lab.pos), midMs: String((s.output_in_ms + s.output_out_ms) / 2) },
      }, [
        el("canvas", { class: "shot-thumb", width: 160, height: thumbH, "aria-hidden": "true" }),
        el("span", { class: "shot-label" }, [el("span", { class: "sr-only", text: "Shot " + (i + 1) + ": " }), lab.pos + " · " + lab.name]),
        el("span", { class: "shot-bar", "aria-hidden": "true" }),
        el("span", { class: "shot-time", text: fmtMs(s.output_in_ms) + "–" + fmtMs(s.output_out_ms) }),
      ]);
      strip.append(cell);
      return cell;
    });
    const inner = el("div", { class: "shot-strip-inner", style: { minWidth: minWidth + "px" } }, [strip, timeAxis(total)]);
    const wrap = el("div", { class: "shot-strip-wrap", tabindex: 0, "aria-label": "Shot strip (scrolls sideways when long)" }, inner);
    const url = localUrl(r.output_video_url);
    if (url) drawThumbs(wrap, url, cells);
    return wrap;
  }

  function timeAxis(totalMs) {
    const axis = el("div", { class: "shot-axis", "aria-hidden": "true" });
    const step = [250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000].find((s) => totalMs / s <= 10) || 120000;
    for (let t = 0; t <= totalMs + 1; t += step) {
      axis.append(el("span", { class: "tick" + (t > totalMs - step / 2 ? " end" : ""), style: { left: (100 * t / totalMs) + "%" }, text: (t / 1000) + " s" }));
    }
    return axis;
  }

  /** Seek a hidden <video> of the output to each cell's middle and draw that frame into the cell (cover-fit). */
  function drawThumbs(wrap, url, cells) {
    const v = el("video", { src: url, muted: true, preload: "auto", playsinline: true, class: "offscreen", "aria-hidden": "true", id: "thumb-video" });
    wrap.append(v);
    let i = 0;
    const next = () => {
      if (i >= cells.length) { wrap.dataset.thumbs = "done"; v.remove(); return; }
      const t = Number(cells[i].dataset.midMs) / 1000;
      v.currentTime = Math.min(t, Math.max(0, (v.duration || t) - 0.02));
    };
    v.addEventListener("loadeddata", next, { once: true });
    v.addEventListener("seeked", () => {
      const c = $("canvas", cells[i]);
      coverDraw(c, v);
      cells[i].dataset.drawnAt = v.currentTime.toFixed(3);
      i++;
      next();
    });
    v.addEventListener("error", () => { wrap.dataset.thumbs = "failed"; v.remove(); });
  }

  function coverDraw(canvas, v) {
    const W = canvas.width, H = canvas.height, vw = v.videoWidth, vh = v.videoHeight;
    if (!vw || !vh) return;
    const scale = Math.max(W / vw, H / vh);
    const sw = W / scale, sh = H / scale;
    canvas.getContext("2d").drawImage(v, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, W, H);
  }

  /** Every clip given, in the user's order: how much of it is used, or why not (unusable ones greyed). */
  function selectionList(plan, ids) {
    const sel = plan.selection || ids.map((id) => ({ video_id: id, usable: true, reason: null, used_ms: null }));
    const ul = el("ul", { class: "selection", id: "selection-list" });
    for (const s of sel) {
      const lab = clipLabel(s.video_id, ids);
      const used = typeof s.used_ms === "number" && s.used_ms > 0;
      const why = s.reason ? (s.usable ? "not used: " : "not usable: ") + (REASONS[s.reason] || s.reason.replace(/_/g, " ")) : used ? "used " + fmtMs(s.used_ms) : "not used";
      ul.append(el("li", { class: "sel-item" + (s.usable ? "" : " unusable"), dataset: { videoId: s.video_id, usable: String(Boolean(s.usable)), reason: s.reason || "" } }, [
        el("span", { class: "clip-key " + lab.colour, "aria-hidden": "true" }),
        el("strong", { text: lab.text }), " — ", el("span", { class: "sel-why", text: why }),
      ]));
    }
    return ul;
  }

  /** Where the song starts in the edit (the engine's choice unless the job set music_start_seconds). */
  function soundtrackNote(r, plan) {
    const st = plan.soundtrack || {};
    if (!st.audio_id) return el("p", { class: "small-text muted", id: "soundtrack-note", text: "Soundtrack: " + (st.source || "–") + "." });
    const own = r.config && r.config.music_start_seconds !== null && r.config.music_start_seconds !== undefined;
    const local = state.song && state.song.audio.audio_id === st.audio_id;
    const name = el("strong", { text: local ? state.song.audio.filename : st.audio_id });
    if (!local) api("/audio/" + encodeURIComponent(st.audio_id)).then((a) => { name.textContent = a.filename; }, () => {});
    return el("p", { class: "small-text", id: "soundtrack-note", dataset: { musicStartMs: String(st.music_start_ms) } },
      ["Soundtrack: the song ", name, " from " + fmtMs(st.music_start_ms || 0) +
        (own ? " (as set in the job)." : " (chosen by the engine: the downbeat that opens the most energetic stretch).") +
        (st.source === "mix" ? " Footage speech is ducked under it." : "")]);
  }

  /* ---------------------------------------------------------------- compare */
  function refreshCompareChoices() {
    const done = Object.values(state.jobs).filter((j) => j.status === "completed")
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    for (const id of ["#compare-a", "#compare-b"]) {
      const sel = $(id);
      const keep = sel.value;
      sel.replaceChildren(...done.map((j) => el("option", { value: j.job_id, text: j.job_id + " · " + j.mode + " · " + (j.mode === "apply" ? styleSource(j) : j.video_id) })));
      if (keep && done.some((j) => j.job_id === keep)) sel.value = keep;
    }
    if (done.length >= 2 && $("#compare-a").value === $("#compare-b").value) $("#compare-b").selectedIndex = 1;
  }

  /** Scalar leaves of the Style DNA by dotted path; long arrays become counts. */
  function flatten(obj, prefix, out) {
    out = out || {};
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? prefix + "." + k : k;
      if (key === "created_at" || key.startsWith("analysis.stage_seconds")) continue;
      if (key === "color_profile.palette") { out[key] = { palette: v }; continue; }
      if (Array.isArray(v)) {
        if (!v.length) out[key + " (count)"] = 0;
        else if (v.length <= 9 && v.every((x) => typeof x === "number" || x === null)) v.forEach((x, i) => { out[key + "[" + i + "]"] = x; });
        else if (v.length && Array.isArray(v[0])) v.forEach((row, i) => row.forEach((x, j) => { out[key + "[" + i + "][" + j + "]"] = x; }));
        else out[key + " (count)"] = v.length;
      } else if (v && typeof v === "object") flatten(v, key, out);
      else out[key] = v;
    }
    return out;
  }

  function setupCompare() {
    $("#compare-only-diff").addEventListener("change", () => {
      $("#compare-out").classList.toggle("only-diff", $("#compare-only-diff").checked);
    });
    $("#compare-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const errNode = $("#compare-error");
      showError(errNode, null);
      const a = $("#compare-a").value, b = $("#compare-b").value;
      if (!a || !b) { showError(errNode, "Two completed jobs are needed."); return; }
      try {
        const [ra, rb] = await Promise.all([a, b].map(async (id) => state.results[id] || (state.results[id] = await api("/jobs/" + id + "/result"))));
        if (!ra.style_json || !rb.style_json) { showError(errNode, "One of the jobs has no Style DNA."); return; }
        renderCompare(ra, rb);
      } catch (err) { showError(errNode, err); }
    });
  }

  function renderCompare(ra, rb) {
    const fa = flatten(ra.style_json), fb = flatten(rb.style_json);
    // documented fields first, then the extended ones, in the order of STYLE_DNA.md
    const order = ["version", "aspect_ratio", "frame_rate", "cut_frequency", "motion_intensity", "zoom_usage", "use_subtitles",
      "tempo_bpm", "music_genre", "source_duration_seconds", "extraction_confidence", "color_grade", "audio_style",
      "primary_transition", "secondary_transition", "detected_beats", "text_overlays", "resolution", "shots", "transitions",
      "pacing", "beats", "loudness", "color_profile", "motion", "analysis"];
    const rank = (k) => { const i = order.indexOf(k.split(/[.[ ]/)[0]); return i < 0 ? order.length : i; };
    const keys = Array.from(new Set(Object.keys(fa).concat(Object.keys(fb)))).map((k, i) => [rank(k), i, k])
      .sort((p, q) => p[0] - q[0] || p[1] - q[1]).map((x) => x[2]);
    const tbody = el("tbody");
    let diffs = 0;
    for (const k of keys) {
      const va = fa[k], vb = fb[k];
      let same, delta = "";
      const cell = (v) => v && v.palette ? palette(v.palette) : v === undefined ? "—" : v === null ? "null" : fmtNum(v, 3);
      if (va && va.palette || vb && vb.palette) {
        same = JSON.stringify(va) === JSON.stringify(vb);
      } else if (typeof va === "number" && typeof vb === "number") {
        same = Math.abs(va - vb) <= 1e-9 * Math.max(1, Math.abs(va));
        delta = (vb - va >= 0 ? "+" : "−") + fmtNum(Math.abs(vb - va), 3);
      } else {
        same = JSON.stringify(va === undefined ? null : va) === JSON.stringify(vb === undefined ? null : vb);
        delta = same ? "" : "differs";
      }
      if (!same) diffs++;
      tbody.append(el("tr", { class: same ? "same" : "diff", dataset: { field: k } }, [
        el("th", { scope: "row", text: k }), el("td", {}, cell(va)), el("td", {}, cell(vb)), el("td", { text: same ? "=" : delta }),
      ]));
    }
    $("#compare-out").replaceChildren(el("div", { class: "card" }, [
      el("p", { id: "compare-summary", text: diffs + " of " + keys.length + " fields differ (highlighted)." }),
      el("div", { class: "table-wrap" }, el("table", { class: "compare-table" }, [
        el("thead", {}, el("tr", {}, [el("th", { scope: "col", text: "Field" }), el("th", { scope: "col", text: "A · " + ra.job_id }), el("th", { scope: "col", text: "B · " + rb.job_id }), el("th", { scope: "col", text: "B − A" })])),
        tbody])),
    ]));
  }

  /* ---------------------------------------------------------------- start */
  function start() {
    setupUploads();
    setupClips();
    setupSong();
    setupJobForm();
    setupCompare();
    $("#jobs-refresh").addEventListener("click", () => loadJobs(state.page));
    $("#jobs-prev").addEventListener("click", () => loadJobs(Math.max(1, state.page - 1)));
    $("#jobs-next").addEventListener("click", () => loadJobs(state.page + 1));
    $("#styles-refresh").addEventListener("click", loadStyles);
    $("#key-button").hidden = !apiKey();
    $("#key-button").addEventListener("click", async () => { setApiKey(""); if (await askForKey(false)) loadJobs(state.page); });
    loadHealth();
    loadJobs(1);
    loadStyles();
    const m = /^#job=(job_[0-9a-f]{16})$/.exec(location.hash);
    if (m) api("/jobs/" + m[1]).then((j) => { state.jobs[j.job_id] = j; openDetail(j.job_id, true); }).catch(() => {});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
