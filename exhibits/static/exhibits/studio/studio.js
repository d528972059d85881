/* Narration studio (issue #15). Progressive enhancement of the stock admin: without JavaScript the
   pages are the plain forms. Config comes from data- attributes on #studio (no inline script). */
(function () {
  "use strict";
  var root = document.getElementById("studio");
  if (!root) return;
  var LIVE = { queued: 1, rendering: 1 };

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRFToken": csrf() } }).then(function (r) { return r.json(); });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* ---------------- live status ---------------- */
  function exhibitIds() {
    if (root.dataset.exhibits) return [root.dataset.exhibits];
    return Array.prototype.map.call(document.querySelectorAll("#result_list input.action-select"), function (i) { return i.value; });
  }
  function badgesFor(id) {
    if (root.dataset.exhibits) return document.querySelectorAll(".field-audio_state .render-badge, .field-state .render-badge");
    var box = document.querySelector("#result_list input.action-select[value='" + id + "']");
    var row = box && box.closest("tr");
    return row ? row.querySelectorAll(".render-badge") : [];
  }
  function badgeText(s) {
    var text = s.label;
    if (s.state === "rendering" && s.units_total) {
      text += " " + s.units_done + "/" + s.units_total + (s.eta_seconds ? " · ≈" + s.eta_seconds + " s" : "");
    }
    return text;
  }
  function paintBadge(badge, s) {
    badge.removeAttribute("style");
    badge.className = "render-badge render-" + s.state;
    badge.textContent = badgeText(s);
    badge.title = s.error || "";
    badge.dataset.state = s.state;
    var bar = badge.parentNode.querySelector("progress.studio-progress");
    if (s.state === "rendering" && s.units_total) {
      if (!bar) { bar = el("progress", { "class": "studio-progress" }); badge.after(bar); }
      bar.max = s.units_total; bar.value = s.units_done;
      bar.textContent = s.units_done + "/" + s.units_total;
    } else if (bar) { bar.remove(); }
  }
  function showAudio(s) {
    var cell = document.querySelector(".field-preview .readonly");
    if (!cell || !s.audio) return;
    var player = cell.querySelector("audio");
    if (player && player.dataset.version === String(s.audio.version)) return;
    cell.textContent = "";
    player = el("audio", { controls: "", preload: "metadata", src: s.audio.url });
    player.dataset.version = s.audio.version;
    cell.append(player, el("span", {}, " " + s.audio.duration.toFixed(1) + " s"));
    if (s.audio.version !== s.version) cell.append(el("span", {}, " (v" + s.audio.version + ", 当前 current v" + s.version + ")"));
    player.load();
  }
  function showRenderError(s) {
    var field = document.querySelector(".field-script");
    if (!field) return;
    var box = field.querySelector(".studio-render-error");
    if (s.state !== "failed" || !s.error) { if (box) box.remove(); return; }
    if (!box) { box = el("ul", { "class": "errorlist studio-render-error", role: "alert" }); field.prepend(box); }
    box.textContent = "";
    box.append(el("li", {}, "合成失败 / render failed: " + s.error));
  }
  function pollStatus() {
    var ids = exhibitIds();
    if (!ids.length || !root.dataset.statusUrl) return;
    fetch(root.dataset.statusUrl + "?ids=" + ids.join(","), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var live = false;
        Object.keys(data.exhibits).forEach(function (id) {
          var s = data.exhibits[id];
          if (LIVE[s.state]) live = true;
          Array.prototype.forEach.call(badgesFor(id), function (b) { paintBadge(b, s); });
          if (root.dataset.exhibits) { showAudio(s); showRenderError(s); }
        });
        setTimeout(pollStatus, live ? data.poll_ms : 10000);
      })
      .catch(function () { setTimeout(pollStatus, 10000); });
  }
  pollStatus();

  /* ---------------- editor ---------------- */
  var area = document.querySelector("textarea[name$='-script']");
  if (!area || !root.dataset.checkUrl || root.dataset.canEdit !== "1") return;
  var emotionField = document.querySelector("select[name$='-emotion']");
  var voiceField = document.querySelector("select[name$='-voice']");

  var EMOTIONS = [["happy", "喜悦 happy"], ["sad", "悲伤 sad"], ["angry", "愤怒 angry"], ["fear", "恐惧 fear"],
                  ["surprise", "惊讶 surprise"], ["disgust", "厌恶 disgust"]];
  var bar = el("div", { "class": "studio-toolbar", role: "toolbar", "aria-label": "标记 Markup" });
  var emo = el("select", { id: "studio-emotion", "aria-label": "情绪 emotion" });
  EMOTIONS.forEach(function (e) { emo.append(el("option", { value: e[0] }, e[1])); });
  var strength = el("input", { id: "studio-intensity", type: "number", min: "0.1", max: "2", step: "0.1", value: "1",
                               "aria-label": "强度 intensity" });
  var wrap = el("button", { type: "button", id: "studio-wrap" }, "包裹情绪 Wrap in emotion");
  var pauseMs = el("input", { id: "studio-pause-ms", type: "number", min: "50", max: "10000", step: "50", value: "500",
                              "aria-label": "停顿毫秒 pause ms" });
  var pause = el("button", { type: "button", id: "studio-pause" }, "插入停顿 Insert pause");
  var pinyin = el("input", { id: "studio-pinyin", type: "text", size: "12", placeholder: "chan2 yu2",
                             "aria-label": "读音拼音 reading pinyin" });
  var pin = el("button", { type: "button", id: "studio-pin" }, "固定读音 Pin reading");
  bar.append(emo, el("label", { "for": "studio-intensity" }, "强度 intensity"), strength, wrap,
             pauseMs, pause, pinyin, pin);
  // The admin lays a field's parts out in a row; the editor stacks toolbar, text and feedback.
  var editor = el("div", { "class": "studio-editor" });
  area.before(editor);
  editor.append(bar, area);

  function replaceSelection(make) {
    var start = area.selectionStart, end = area.selectionEnd;
    var chosen = area.value.slice(start, end);
    var inserted = make(chosen);
    area.setRangeText(inserted, start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input"));
  }
  wrap.addEventListener("click", function () {
    var level = parseFloat(strength.value);
    var open = "[" + emo.value + (level && level !== 1 ? " " + level : "") + "]";
    replaceSelection(function (t) { return open + t + "[/" + emo.value + "]"; });
  });
  pause.addEventListener("click", function () {
    replaceSelection(function (t) { return t + "[pause " + (parseInt(pauseMs.value, 10) || 500) + "ms]"; });
  });
  pin.addEventListener("click", function () {
    if (!pinyin.value.trim()) { pinyin.focus(); return; }
    replaceSelection(function (t) { return t ? "{" + t + "|" + pinyin.value.trim() + "}" : t; });
  });

  var status = el("div", { "class": "studio-check", role: "status", "aria-live": "polite", id: "studio-check" });
  var markup = el("div", { "class": "studio-markup", id: "studio-markup", lang: "zh", "aria-label": "标记与读音提示 markup and reading hints" });
  var list = el("ol", { "class": "studio-sentences", id: "studio-sentences", "aria-label": "逐句试听 hear one sentence" });
  area.after(status, markup, list);

  var TOKENS = /(\[pause[^\]]*\])|(\[\/?[A-Za-z]+(?:\s+[^\]]*)?\])|(\{[^}|]*\|[^}]*\})/g;
  var hints = { text: null, byOffset: {} };
  var readings = el("div", { "class": "studio-readings", id: "studio-readings", role: "dialog", "aria-label": "读音 readings" });
  readings.hidden = true;
  markup.after(readings);

  function plain(text, from) {
    /* Text between markup tokens, with the last check's hints as underlines (if still current). */
    var out = document.createDocumentFragment(), i = 0;
    var current = hints.text === area.value;
    while (i < text.length) {
      var hint = current ? hints.byOffset[from + i] : null;
      if (!hint) {
        var next = i + 1;
        while (next < text.length && !(current && hints.byOffset[from + next])) next++;
        out.append(document.createTextNode(text.slice(i, next)));
        i = next;
        continue;
      }
      if (hint.kind === "uncertain") {
        var button = el("button", { type: "button", "class": "hint uncertain", "data-offset": String(from + i),
                                    "aria-label": hint.char + " 多音字，选择读音 choose a reading" }, hint.char);
        button.addEventListener("click", openReadings.bind(null, hint));
        out.append(button);
      } else {
        out.append(el("span", { "class": "hint lexicon", title: "读音词表 lexicon: " + hint.pinyin }, hint.char));
      }
      i += hint.char.length;
    }
    return out;
  }
  function paintMarkup(text) {
    markup.textContent = "";
    var last = 0, m;
    TOKENS.lastIndex = 0;
    while ((m = TOKENS.exec(text))) {
      if (m.index > last) markup.append(plain(text.slice(last, m.index), last));
      markup.append(el("span", { "class": m[1] ? "pause" : m[2] ? "tag" : "reading", title: m[3] ? "固定读音 pinned reading" : "" }, m[0]));
      last = m.index + m[0].length;
    }
    markup.append(plain(text.slice(last), last));
  }
  function pinAt(hint, reading) {
    if (area.value.substr(hint.offset, 1) !== hint.char) return;  // text changed since the check
    area.setRangeText("{" + hint.char + "|" + reading + "}", hint.offset, hint.offset + 1, "end");
    readings.hidden = true;
    area.focus();
    area.dispatchEvent(new Event("input"));
  }
  function openReadings(hint) {
    readings.textContent = "";
    readings.append(el("p", {}, "“" + hint.char + "” 的读音 readings — 选择一个固定在此处 pick one to pin here"));
    var list = el("ul");
    hint.candidates.forEach(function (c) {
      var item = el("li");
      var pick = el("button", { type: "button", "class": "studio-reading", "data-pinyin": c.pinyin }, c.pinyin + "（" + c.example + "）");
      pick.addEventListener("click", function () { pinAt(hint, c.pinyin); });
      item.append(pick);
      if (root.dataset.lexiconUrl) {
        var query = "?term=" + encodeURIComponent(hint.char) + "&pinyin=" + encodeURIComponent(c.pinyin);
        item.append(" ", el("a", { href: root.dataset.lexiconUrl + query, target: "_blank", rel: "noopener" },
                            "加入读音词表 add to lexicon"));
      }
      list.append(item);
    });
    var close = el("button", { type: "button" }, "关闭 Close");
    close.addEventListener("click", function () { readings.hidden = true; });
    readings.append(list, close);
    readings.hidden = false;
    readings.querySelector("button").focus();
  }

  function playSentence(button, sentence, slot) {
    button.disabled = true;
    slot.textContent = "合成中… rendering";
    slot.className = "busy";
    var fields = { sentence: sentence, emotion: emotionField ? emotionField.value : "neutral",
                   voice: voiceField ? voiceField.value : "" };
    function ask(send) {
      post(root.dataset.previewUrl, Object.assign({ send: send }, fields)).then(function (data) {
        if (data.state === "queued") { setTimeout(function () { ask("0"); }, data.poll_ms || 300); return; }
        button.disabled = false;
        slot.className = "";
        slot.textContent = "";
        if (data.state !== "ready") { slot.textContent = data.error || "失败 failed"; return; }
        var player = el("audio", { controls: "", src: data.audio.url, "class": "studio-sentence-audio" });
        slot.append(player);
        player.play().catch(function () {});
      });
    }
    ask("1");
  }
  function showSentences(sentences) {
    list.textContent = "";
    sentences.forEach(function (s, i) {
      var item = el("li");
      var button = el("button", { type: "button", "class": "studio-play", "aria-label": "试听第" + (i + 1) + "句 play sentence " + (i + 1) }, "▶");
      var slot = el("span");
      button.addEventListener("click", function () { playSentence(button, s.markup, slot); });
      item.append(button, " ", el("span", { lang: "zh" }, s.text), " ", slot);
      list.append(item);
    });
  }

  var timer = null, asked = 0;
  function check() {
    var mine = ++asked;
    post(root.dataset.checkUrl, { script: area.value, emotion: emotionField ? emotionField.value : "neutral" })
      .then(function (data) {
        if (mine !== asked) return;  // a newer check is on its way
        hints = { text: area.value, byOffset: {} };
        (data.hints || []).forEach(function (h) { hints.byOffset[h.offset] = h; });
        paintMarkup(area.value);
        if (data.ok) {
          status.className = "studio-check ok";
          status.textContent = "✓ 标记正确 markup OK";
          area.removeAttribute("aria-invalid");
          showSentences(data.sentences);
        } else {
          status.className = "studio-check error";
          status.textContent = data.error.message;
          area.setAttribute("aria-invalid", "true");
          list.textContent = "";
        }
      });
  }
  function changed() {
    paintMarkup(area.value);
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }
  area.setAttribute("aria-describedby", "studio-check");
  area.addEventListener("input", changed);
  if (emotionField) emotionField.addEventListener("change", changed);
  changed();
})();
