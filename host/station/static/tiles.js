/*
 * poswipe tiles: renders one terminal's tile (board, unique ID, phase, progress, times, sector map,
 * buttons, record links) from the snapshots of host/app/tile.ts. Shared by the station page
 * (station.js, fed by server-sent events) and the Web Serial page (the bundle, fed in-process).
 * Plain browser JavaScript, no framework: window.PoswipeTiles.
 */
(function (global) {
  'use strict';

  /** the letters of TileSnapshot.map (CELL_CODES in tile.ts) */
  var STATES = { '.': 'untouched', e: 'erased', w: 'programmed', v: 'verified', f: 'failed', p: 'protected' };
  var STATE_ORDER = ['untouched', 'erased', 'programmed', 'verified', 'failed', 'protected'];
  var STATE_TEXT = {
    untouched: 'untouched',
    erased: 'erased, not yet checked',
    programmed: 'pattern written and checked',
    verified: 'verified blank',
    failed: 'failed',
    protected: 'protected (left alone)',
  };
  var STATUS = {
    idle: ['○', 'Ready'],
    running: ['▶', 'Running'],
    stopping: ['■', 'Stopping'],
    verified: ['✓', 'Verified'],
    failed: ['✕', 'Failed'],
    stopped: ['■', 'Stopped'],
    error: ['!', 'Error'],
  };

  function hex(n) {
    return '0x' + (n >>> 0).toString(16).padStart(8, '0');
  }

  function h(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'className') e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      }
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) e.appendChild(arguments[i]);
    return e;
  }

  function seconds(s) {
    if (!isFinite(s) || s <= 0) return '0.0 s';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    var m = Math.floor(s / 60);
    var r = Math.round(s - 60 * m);
    return m + ' min ' + (r < 10 ? '0' : '') + r + ' s';
  }

  function title(snap) {
    return snap.title || 'Terminal ' + String(snap.id).replace(/^t/, '');
  }

  /** The legend: one sample cell and its name per state. */
  function legend() {
    var ul = h('ul', { className: 'legend', 'aria-label': 'Sector map legend' });
    STATE_ORDER.forEach(function (s) {
      ul.appendChild(h('li', null, h('span', { className: 'cell', 'data-state': s, 'aria-hidden': 'true' }), h('span', { text: STATE_TEXT[s] })));
    });
    return ul;
  }

  function count(map) {
    var c = {};
    for (var i = 0; i < map.length; i++) {
      var s = STATES[map[i]] || 'untouched';
      c[s] = (c[s] || 0) + 1;
    }
    return c;
  }

  function countText(c, total) {
    var parts = [];
    ['verified', 'failed', 'erased', 'programmed', 'protected', 'untouched'].forEach(function (s) {
      if (c[s]) parts.push(c[s] + ' ' + (s === 'erased' ? 'erased' : s === 'programmed' ? 'pattern' : s));
    });
    return total + ' blocks: ' + (parts.join(', ') || 'none');
  }

  /**
   * A new tile element. actions(action, id) is called by the buttons: 'start', 'stop', 'rerun'.
   */
  function createTile(snap, actions) {
    var id = snap.id;
    var head = h('h2', { id: id + '-title' }, h('span', { text: title(snap) }), h('span', { className: 'port', text: snap.port }));
    var badge = h('p', { className: 'badge', role: 'status', 'aria-live': 'polite' }, h('span', { 'aria-hidden': 'true', className: 'badge-icon' }), h('span', { className: 'badge-text' }));
    var fact = function (name, cls) {
      var dd = h('dd', { className: cls });
      return [h('div', null, h('dt', { text: name }), dd), dd];
    };
    var fBoard = fact('Board', 'f-board');
    var fUid = fact('Unique ID', 'f-uid uid');
    var fPhase = fact('Phase', 'f-phase');
    var fTime = fact('Time', 'f-time');
    var dl = h('dl', { className: 'facts' }, fBoard[0], fUid[0], fPhase[0], fTime[0]);
    var barFill = h('span');
    var bar = h('div', { className: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': 'Progress of the current phase' }, barFill);
    var ptext = h('span', { className: 'ptext' });
    var map = h('div', { className: 'map', role: 'img' });
    var mapSummary = h('figcaption', { className: 'map-summary' });
    var figure = h('figure', { className: 'map-wrap' }, map, mapSummary);
    var reason = h('p', { className: 'reason' });
    var failedList = h('p', { className: 'failed-list' });
    var buttons = {};
    var actionsBox = h('div', { className: 'actions', role: 'group', 'aria-label': 'Actions for ' + title(snap) });
    [
      ['start', 'Start'],
      ['stop', 'Stop after phase'],
      ['rerun', 'Re-run'],
    ].forEach(function (b) {
      var btn = h('button', { type: 'button', 'data-action': b[0], className: b[0] === 'start' ? 'primary' : '', text: b[1] });
      btn.addEventListener('click', function () {
        actions(b[0], id);
      });
      buttons[b[0]] = btn;
      actionsBox.appendChild(btn);
    });
    buttons.stop.title = 'Finish the phase that is running, then stop (never certified)';
    buttons.rerun.title = 'Run the whole session again on this terminal';
    var links = h('nav', { className: 'links', 'aria-label': 'Records of ' + title(snap) });
    var log = h('ul', { className: 'log', 'aria-label': 'Notes' });
    var tile = h(
      'article',
      { className: 'tile', id: 'tile-' + id, 'data-tile': id, 'aria-labelledby': id + '-title' },
      h('header', { className: 'tile-head' }, head, badge),
      dl,
      h('div', { className: 'progress-row' }, bar, ptext),
      figure,
      reason,
      failedList,
      actionsBox,
      links,
      log,
    );
    tile._refs = { badge: badge, board: fBoard[1], uid: fUid[1], phase: fPhase[1], time: fTime[1], bar: bar, barFill: barFill, ptext: ptext, map: map, mapSummary: mapSummary, reason: reason, failedList: failedList, buttons: buttons, links: links, log: log, cells: [], layout: null, lastMap: '' };
    return tile;
  }

  /** Draws the map cells of a layout ({ cells: [{address, size, sector}] }). */
  function setLayout(tile, layout) {
    var r = tile._refs;
    r.layout = layout;
    r.map.textContent = '';
    r.cells = [];
    r.lastMap = '';
    r.bySector = {};
    var prevSector = null;
    layout.cells.forEach(function (c, i) {
      var cell = h('span', { className: 'cell', 'data-state': 'untouched', 'data-address': hex(c.address), 'aria-hidden': 'true' });
      if (prevSector !== null && c.sector !== prevSector) cell.className += ' sector-start';
      prevSector = c.sector;
      cell.title = hex(c.address) + ' (' + c.size + ' bytes, sector ' + c.sector + '): untouched';
      r.cells.push(cell);
      r.map.appendChild(cell);
    });
  }

  /** Brings a tile up to date with a snapshot; tokenQuery ("?token=…" or "") goes on record links. */
  function updateTile(tile, snap, tokenQuery) {
    var r = tile._refs;
    var st = STATUS[snap.status] || ['?', snap.status];
    tile.setAttribute('data-status', snap.status);
    r.badge.setAttribute('data-status', snap.status);
    r.badge.firstChild.textContent = st[0];
    r.badge.lastChild.textContent = st[1];

    r.board.textContent = '';
    if (snap.board) {
      r.board.appendChild(document.createTextNode(snap.board + ' '));
      if (snap.pid) r.board.appendChild(h('small', { text: 'pid ' + snap.pid }));
      r.board.title = snap.boardName || snap.board;
    } else r.board.textContent = 'detected on start';
    r.uid.textContent = snap.uid || '—';
    r.uid.title = snap.uid || '';
    var phase = snap.phase + (snap.note ? ' · ' + snap.note : '');
    r.phase.textContent = phase;
    r.phase.title = phase;
    var t = seconds(snap.realSeconds) + ' real';
    if (snap.virtualTime) t += ' · ' + seconds(snap.terminalSeconds) + ' emulated';
    r.time.textContent = snap.status === 'idle' ? '—' : t;

    var running = snap.status === 'running' || snap.status === 'stopping';
    var frac = snap.total > 0 ? Math.max(0, Math.min(1, snap.done / snap.total)) : 0;
    r.barFill.style.width = (frac * 100).toFixed(1) + '%';
    r.bar.setAttribute('aria-valuenow', String(Math.round(frac * 100)));
    var ended = !running && snap.status !== 'idle';
    r.ptext.textContent = snap.status === 'idle' ? 'not started' : ended ? (snap.status === 'verified' || snap.status === 'failed' ? 'finished' : snap.status) : snap.done + '/' + snap.total;

    // the map: only cells whose letter changed
    if (snap.map !== r.lastMap && r.cells.length === snap.map.length) {
      for (var i = 0; i < snap.map.length; i++) {
        if (snap.map[i] === r.lastMap[i]) continue;
        var s = STATES[snap.map[i]] || 'untouched';
        var cell = r.cells[i];
        cell.setAttribute('data-state', s);
        cell.title = cell.title.replace(/: [^:]*$/, ': ' + STATE_TEXT[s]);
      }
      r.lastMap = snap.map;
    }
    var c = count(snap.map);
    var summary = countText(c, snap.map.length);
    r.mapSummary.textContent = summary;
    r.map.setAttribute('aria-label', 'Sector map of ' + title(snap) + ', ' + summary + (snap.failed.length ? '; failed at ' + snap.failed.join(', ') : ''));

    r.reason.textContent = snap.reason ? (snap.status === 'verified' ? '' : snap.reason) : '';
    r.failedList.textContent = '';
    if (snap.failed.length) {
      r.failedList.appendChild(document.createTextNode('Failed block' + (snap.failed.length > 1 ? 's' : '') + ': '));
      snap.failed.slice(0, 12).forEach(function (a, k) {
        if (k) r.failedList.appendChild(document.createTextNode(' '));
        r.failedList.appendChild(h('code', { text: a }));
      });
      if (snap.failed.length > 12) r.failedList.appendChild(document.createTextNode(' and ' + (snap.failed.length - 12) + ' more'));
    }

    var focused = document.activeElement;
    r.buttons.start.disabled = running;
    r.buttons.start.textContent = snap.status === 'idle' ? 'Start' : 'Start next';
    r.buttons.start.title = snap.status === 'idle' ? 'Erase, verify and certify this terminal' : 'Start a new session on this port (the next terminal)';
    r.buttons.stop.disabled = snap.status !== 'running';
    r.buttons.rerun.disabled = !(snap.status === 'failed' || snap.status === 'error' || snap.status === 'stopped');
    if (focused && focused.disabled && tile.contains(focused)) {
      var next = [r.buttons.stop, r.buttons.rerun, r.buttons.start].filter(function (b) {
        return !b.disabled;
      })[0];
      if (next) next.focus();
    }

    var linkKey = JSON.stringify(snap.links) + tokenQuery;
    if (r.linkKey !== linkKey) {
      r.linkKey = linkKey;
      r.links.textContent = '';
      snap.links.forEach(function (l) {
        var a = h('a', { href: l.href + (l.href.indexOf('blob:') === 0 || l.href.indexOf('data:') === 0 ? '' : tokenQuery), 'data-rel': l.rel, text: l.label, target: '_blank', rel: 'noopener' });
        if (l.download) a.setAttribute('download', l.download);
        r.links.appendChild(a);
      });
    }
    var logKey = snap.log.join('\n');
    if (r.logKey !== logKey) {
      r.logKey = logKey;
      r.log.textContent = '';
      snap.log.forEach(function (line) {
        r.log.appendChild(h('li', { text: line }));
      });
    }
  }

  global.PoswipeTiles = { createTile: createTile, setLayout: setLayout, updateTile: updateTile, legend: legend, STATUS: STATUS, hex: hex };
})(typeof window !== 'undefined' ? window : this);
