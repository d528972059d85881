// "下载本展厅，离线收听" on a gallery page (issue #18): registers the service worker (/sw.js) and
// fetches everything the gallery's exhibit pages need into one Cache Storage cache: the pages,
// their audio and images (listed with sizes by the server: the button shows the total first) and
// the scripts and styles the pages load (found in the pages themselves). Visiting the page again
// online brings the copy up to date (new audio in, files no longer used out).
(function () {
  var box = document.querySelector(".offline[data-bundle]");
  var button = document.getElementById("offline-save");
  var status = document.getElementById("offline-status");
  if (!box || !button || !("serviceWorker" in navigator) || !window.caches || !window.fetch) return;
  var cacheName = box.getAttribute("data-cache");
  var marker = new URL("/offline-complete/" + cacheName, location.href).href; // written last: download finished
  var ready = navigator.serviceWorker.register(box.getAttribute("data-worker")).then(function () {
    return navigator.serviceWorker.ready;
  });
  button.hidden = false;

  function size(n) { return n >= 1e6 ? (n / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1e3)) + " KB"; }
  function say(text) { status.textContent = text; }
  function sameOrigin(url) { return new URL(url, location.href).origin === location.origin; }
  function subresources(html) { // what a cached page loads: it must work offline too
    var doc = new DOMParser().parseFromString(html, "text/html"), found = [];
    doc.querySelectorAll("script[src], link[rel=stylesheet][href], link[rel=manifest][href], img[src]").forEach(function (el) {
      var url = el.getAttribute("src") || el.getAttribute("href");
      if (url && sameOrigin(url)) found.push(new URL(url, location.href).href);
    });
    return found;
  }

  function download(bundle, quiet) {
    return caches.open(bundle.cache).then(function (cache) {
      var wanted = {}, done = 0, bytes = 0;
      function fetchOne(url) {
        if (wanted[url]) return Promise.resolve();
        wanted[url] = true;
        return fetch(url, { cache: "no-cache", credentials: "omit" }).then(function (response) {
          if (response.status !== 200) throw new Error(url + ": " + response.status);
          bytes += Number(response.headers.get("Content-Length")) || 0;
          var html = /text\/html/.test(response.headers.get("Content-Type") || "") ? response.clone().text() : Promise.resolve("");
          return html.then(function (text) {
            return cache.put(url, response).then(function () {
              done += 1;
              if (!quiet) say("正在下载… " + size(bytes) + " / " + size(bundle.bytes));
              return subresources(text).reduce(function (p, u) { return p.then(function () { return fetchOne(u); }); }, Promise.resolve());
            });
          });
        });
      }
      var urls = bundle.files.map(function (f) { return new URL(f.url, location.href).href; });
      return urls.reduce(function (p, u) { return p.then(function () { return fetchOne(u); }); }, Promise.resolve())
        .then(function () { return cache.keys(); })
        .then(function (keys) { // files the gallery no longer uses (old audio, unpublished exhibits)
          return Promise.all(keys.filter(function (r) { return !wanted[r.url] && r.url !== marker; }).map(function (r) { return cache.delete(r); }));
        })
        .then(function () { return cache.put(marker, new Response(JSON.stringify({ bytes: bytes, files: done }))); })
        .then(function () { return bytes; });
    });
  }

  function run(quiet) {
    button.disabled = true;
    if (!quiet) say("正在准备下载…");
    return ready.then(function () { return fetch(box.getAttribute("data-bundle"), { cache: "no-store" }); })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (bundle) { return download(bundle, quiet); })
      .then(function (bytes) {
        say("已下载（" + size(bytes) + "）。没有网络时也能打开本展厅的展品并收听讲解。");
        button.textContent = "更新离线内容";
        box.setAttribute("data-state", "ready");
      }, function () {
        say("下载没有完成，请在有网络的地方再试一次。");
        box.setAttribute("data-state", "failed");
      })
      .then(function () { button.disabled = false; });
  }

  button.addEventListener("click", function () { run(false); });
  caches.open(cacheName).then(function (cache) { return cache.match(marker); }).then(function (done) {
    if (!done) return;
    say("本展厅已下载，可以离线收听。");
    button.textContent = "更新离线内容";
    box.setAttribute("data-state", "ready");
    if (navigator.onLine) run(true); // bring the copy up to date quietly
  });
})();
