// Service worker for offline galleries (issue #18), served at /sw.js (scope: the whole site).
// offline.js fills one Cache Storage cache per downloaded gallery ("gallery-<id>"). Here:
// - audio and images (/media/): from a cache when there, with byte ranges cut from the cached
//   file (206 + Content-Range: iOS Safari and Chrome's media player ask for ranges); else network.
// - pages and static files: network first, so a visitor online always gets the current page;
//   a page that a downloaded gallery holds is refreshed in that cache, and if its audio changed
//   (a new rendition) the new file is fetched and the old one dropped. Offline, or when the
//   network hangs, the cached copy answers.
// Nothing else is intercepted (admin, API, beacons, other origins).
"use strict";
var PREFIX = "gallery-";
var SLOW_MS = 4000; // a basement "one bar" connection: fall back to the cached page after this

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function galleryCaches() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0; }).map(function (n) {
      return caches.open(n).then(function (cache) { return { name: n, cache: cache }; });
    }));
  });
}

function cachedMatch(url) {
  return galleryCaches().then(function (list) {
    return list.reduce(function (found, item) {
      return found.then(function (hit) { return hit || item.cache.match(url).then(function (r) { return r && { response: r, item: item }; }); });
    }, Promise.resolve(null));
  });
}

function ranged(request, cached) {
  var header = request.headers.get("Range");
  if (!header) return Promise.resolve(cached);
  return cached.blob().then(function (blob) {
    var size = blob.size, m = /^bytes=(\d*)-(\d*)$/.exec(header.trim()), first, last;
    var type = cached.headers.get("Content-Type") || "application/octet-stream";
    if (!m || (m[1] === "" && m[2] === "")) return new Response(blob, { status: 200, headers: { "Content-Type": type, "Accept-Ranges": "bytes" } });
    if (m[1] === "") { first = Math.max(0, size - Number(m[2])); last = Number(m[2]) > 0 ? size - 1 : -1; }
    else { first = Number(m[1]); last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1); }
    if (first >= size || last < first) {
      return new Response("", { status: 416, headers: { "Content-Range": "bytes */" + size } });
    }
    return new Response(blob.slice(first, last + 1), {
      status: 206,
      headers: {
        "Content-Type": type, "Content-Range": "bytes " + first + "-" + last + "/" + size,
        "Content-Length": String(last - first + 1), "Accept-Ranges": "bytes", "X-Offline-Cache": "hit"
      }
    });
  });
}

function media(request) {
  return cachedMatch(request.url).then(function (hit) {
    return hit ? ranged(request, hit.response) : fetch(request);
  });
}

function audioOf(html) {
  var m = /<audio id="player"[^>]*\ssrc="([^"]+)"/.exec(html);
  return m ? new URL(m[1].replace(/&amp;/g, "&"), self.location.origin).href : null;
}

// A downloaded page came back from the network: keep the gallery's copy current.
function refresh(item, url, response) {
  return response.text().then(function (html) {
    var fresh = audioOf(html);
    return item.cache.match(url).then(function (old) { return old ? old.text() : ""; }).then(function (oldHtml) {
      var stale = audioOf(oldHtml);
      var page = new Response(html, { headers: { "Content-Type": response.headers.get("Content-Type") || "text/html; charset=utf-8" } });
      var steps = item.cache.put(url, page);
      if (fresh && fresh !== stale) {
        steps = steps.then(function () { return item.cache.match(fresh); }).then(function (have) {
          return have || fetch(fresh).then(function (r) { if (r.ok && r.status === 200) return item.cache.put(fresh, r); });
        }).then(function () { return stale && dropUnused(item.cache, stale); });
      }
      return steps;
    });
  }).catch(function () {});
}

function dropUnused(cache, audioUrl) { // another exhibit may share the file (identical scripts)
  return cache.keys().then(function (requests) {
    return Promise.all(requests.filter(function (r) { return !/\/media\//.test(r.url); }).map(function (r) {
      return cache.match(r).then(function (res) { return res.text(); }).then(audioOf);
    }));
  }).then(function (used) { if (used.indexOf(audioUrl) < 0) return cache.delete(audioUrl); });
}

function offlinePage() {
  return new Response('<!doctype html><html lang="zh-Hans"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>没有网络 · 语音导览</title><body><h1>没有网络</h1><p>这个页面没有下载到手机上。请回到已下载的展厅，或在有网络的地方再试。</p></body></html>',
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function networkFirst(event) {
  var request = event.request;
  return cachedMatch(request.url).then(function (hit) {
    var network = fetch(request).then(function (response) {
      if (hit && response.ok && response.status === 200 && (response.headers.get("Content-Type") || "").indexOf("text/html") === 0) {
        event.waitUntil(refresh(hit.item, request.url, response.clone()));
      } else if (hit && response.ok && response.status === 200) {
        event.waitUntil(hit.item.cache.put(request.url, response.clone()));
      }
      return response;
    });
    if (!hit) return network.catch(function () { return request.mode === "navigate" ? offlinePage() : Response.error(); });
    var slow = new Promise(function (resolve) { setTimeout(resolve, SLOW_MS); }).then(function () { return hit.response.clone(); });
    return Promise.race([network.catch(function () { return hit.response.clone(); }), slow]);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/media/") === 0) { event.respondWith(media(request)); return; }
  if (/^\/(admin|api|listen|healthz|sw\.js)/.test(url.pathname)) return;
  event.respondWith(networkFirst(event));
});
