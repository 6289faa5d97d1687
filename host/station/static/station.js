/*
 * The station page: one tile per port, live over server-sent events (/api/events), buttons as
 * POSTs. A token given in the page's address (?token=…) goes on every request.
 */
(function () {
  'use strict';
  var T = window.PoswipeTiles;
  var token = new URLSearchParams(location.search).get('token');
  var tq = token ? '?token=' + encodeURIComponent(token) : '';
  var tilesBox = document.getElementById('tiles');
  var tiles = {};
  var snaps = {};
  var order = [];
  var facts = document.getElementById('station-facts');
  var connection = document.getElementById('connection');
  var announce = document.getElementById('announce');
  var summary = document.getElementById('summary');
  document.getElementById('legend').appendChild(T.legend());

  function post(path) {
    return fetch('api/' + path + tq, { method: 'POST', headers: { 'X-Poswipe-Station': '1' } })
      .then(function (r) {
        return r.json();
      })
      .catch(function (err) {
        say('request failed: ' + err.message);
      });
  }

  function say(text) {
    announce.textContent = '';
    setTimeout(function () {
      announce.textContent = text;
    }, 30);
  }

  function act(action, id) {
    post('tiles/' + encodeURIComponent(id) + '/' + action);
  }

  function ensureTile(snap) {
    if (tiles[snap.id]) return tiles[snap.id];
    var el = T.createTile(snap, act);
    tiles[snap.id] = el;
    order.push(snap.id);
    tilesBox.appendChild(el);
    return el;
  }

  function update(snap) {
    var before = snaps[snap.id];
    var el = ensureTile(snap);
    T.updateTile(el, snap, tq);
    snaps[snap.id] = snap;
    if (before && before.status !== snap.status && ['verified', 'failed', 'error', 'stopped'].indexOf(snap.status) >= 0) {
      say('Terminal ' + snap.id.replace(/^t/, '') + ' ' + T.STATUS[snap.status][1].toLowerCase() + (snap.reason && snap.status !== 'verified' ? ': ' + snap.reason : ''));
    }
    refreshSummary();
  }

  function refreshSummary() {
    var counts = {};
    order.forEach(function (id) {
      var s = snaps[id] ? snaps[id].status : 'idle';
      counts[s] = (counts[s] || 0) + 1;
    });
    var parts = [];
    ['running', 'stopping', 'verified', 'failed', 'error', 'stopped', 'idle'].forEach(function (s) {
      if (counts[s]) parts.push(counts[s] + ' ' + T.STATUS[s][1].toLowerCase());
    });
    summary.innerHTML = '';
    var strong = document.createElement('strong');
    strong.textContent = order.length + ' terminal' + (order.length === 1 ? '' : 's');
    summary.appendChild(strong);
    summary.appendChild(document.createTextNode(': ' + parts.join(' · ')));
    document.getElementById('rerun-failed').disabled = !(counts.failed || counts.error || counts.stopped);
    document.getElementById('start-all').disabled = !counts.idle;
  }

  function hello(state) {
    facts.textContent = 'method ' + state.method + ' · verify ' + state.verify + (state.board ? ' · board ' + state.board : '') + ' · ' + location.host;
    state.tiles.forEach(function (s) {
      ensureTile(s);
    });
    state.layouts.forEach(function (l) {
      if (tiles[l.id]) T.setLayout(tiles[l.id], l);
    });
    state.tiles.forEach(update);
    document.body.setAttribute('data-ready', 'true');
  }

  document.getElementById('start-all').addEventListener('click', function () {
    post('start-all');
  });
  document.getElementById('rerun-failed').addEventListener('click', function () {
    post('rerun-failed');
  });

  var source = new EventSource('api/events' + tq);
  source.addEventListener('hello', function (e) {
    connection.setAttribute('data-state', 'live');
    connection.textContent = 'live';
    hello(JSON.parse(e.data));
  });
  source.addEventListener('layout', function (e) {
    var l = JSON.parse(e.data);
    if (tiles[l.id]) T.setLayout(tiles[l.id], l);
    if (snaps[l.id]) T.updateTile(tiles[l.id], snaps[l.id], tq);
  });
  source.addEventListener('tile', function (e) {
    update(JSON.parse(e.data));
  });
  source.onerror = function () {
    connection.setAttribute('data-state', 'lost');
    connection.textContent = 'reconnecting';
  };
})();
