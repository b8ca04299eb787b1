// The local page of dicompack. Plain JavaScript, no build step, nothing from the network.
// Everything shown is built with textContent (names from a disc are never HTML).
'use strict';
(function () {
  const csrf = document.querySelector('meta[name=csrf]').content;
  const $ = (id) => document.getElementById(id);
  const sections = ['home', 'choose', 'scan', 'packing', 'done', 'receive'];
  let places = { drives: [], folders: [], default_output: '' };
  let scanShown = false;
  let receivedShown = false;
  let timer = null;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else if (k === 'on') e.addEventListener('click', v); else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  async function api(path, body) {
    const opts = body === undefined ? {} : {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Dicompack-Token': csrf },
      body: JSON.stringify(body),
    };
    const r = await fetch(path, opts);
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.error || ('The program answered ' + r.status));
    return j;
  }

  function show(name) {
    for (const s of sections) $(s).hidden = s !== name;
    hideError();
    const h = $(name).querySelector('h2');
    if (h) { h.tabIndex = -1; h.focus(); }
  }
  function showError(msg) { $('error').textContent = msg; $('error').hidden = false; }
  function hideError() { $('error').hidden = true; }
  function poll(fn) {
    clearInterval(timer);
    timer = setInterval(async () => {
      try { const s = await api('/api/status'); if (fn(s) === false) clearInterval(timer); }
      catch (e) { clearInterval(timer); showError(e.message); }
    }, 250);
  }

  // ----- the pack flow -------------------------------------------------------------------
  async function loadPlaces() {
    places = await api('/api/places');
    const box = $('drives');
    box.replaceChildren();
    for (const d of places.drives) {
      box.append(el('button', { type: 'button', class: 'big', on: () => startScan(d.path) },
        (d.kind === 'disc' ? 'Disc: ' : 'Drive: ') + d.label, el('small', { text: d.path })));
    }
    $('no-drives').hidden = places.drives.length > 0;
  }

  async function startScan(path) {
    try {
      await api('/api/scan', { path });
    } catch (e) { showError(e.message); return; }
    scanShown = false;
    show('scan');
    $('scan-input').textContent = 'Reading ' + path;
    $('patients').replaceChildren();
    $('scan-found').replaceChildren();
    $('scan-summary').textContent = '';
    $('save').hidden = true; $('several').hidden = true; $('problems').hidden = true;
    $('scan-progress').hidden = false;
    poll(updateScan);
  }

  function updateScan(s) {
    const job = s.scan;
    if (!job) return false;
    const p = job.progress;
    if (!job.outcome && !job.failure) {
      $('scan-stage').textContent = p.total ? `Reading the files: ${p.done} of ${p.total}` : 'Looking for files…';
      if (p.total) { $('scan-bar').max = p.total; $('scan-bar').value = p.done; }
      // The studies found so far, while the rest of the disc is read.
      const list = $('scan-found');
      list.replaceChildren();
      for (const f of p.found || []) {
        list.append(el('li', { text: `${f.patient || 'Unnamed patient'} · ${f.date} · ${f.modalities.join(', ')} · ${f.description || '(no description)'} · ${f.images} image(s) so far` }));
      }
      return true;
    }
    if (job.failure) {
      $('scan-progress').hidden = true;
      showError(job.failure.message + (job.failure.detail ? '\n' + job.failure.detail : ''));
      return false;
    }
    const o = job.outcome;
    if (!scanShown) { $('scan-found').replaceChildren(); renderScan(o.view); scanShown = true; }
    for (const pr of o.previews) {
      const slot = document.querySelector(`[data-preview="${pr.id}"]`);
      if (slot && slot.tagName !== 'IMG') {
        const img = el('img', { src: '/api/preview?id=' + pr.id, alt: pr.note ? 'No preview: ' + pr.note : 'Preview of ' + slot.dataset.what });
        img.dataset.preview = pr.id;
        slot.replaceWith(img);
      }
    }
    $('scan-stage').textContent = o.drawing ? 'Drawing the previews…' : 'Done reading.';
    $('scan-progress').hidden = !o.drawing;
    return o.drawing || job.running;
  }

  function renderScan(v) {
    $('scan-input').textContent = 'Read from ' + v.input;
    $('scan-summary').textContent = v.summary;
    const box = $('patients');
    box.replaceChildren();
    if (v.patients.length === 0) {
      box.append(el('p', { text: 'No medical images were found here. Try another folder or disc.' }));
    }
    for (const p of v.patients) {
      const card = el('div', { class: 'patient' },
        el('h3', { text: (p.name || 'Unnamed patient') }),
        el('p', { class: 'meta', text: `Patient ID ${p.id} · born ${p.born}${p.sex ? ' · ' + p.sex : ''}` }));
      for (const st of p.studies) {
        const box = el('input', { type: 'checkbox', class: 'study-pick', value: st.uid, id: 'st-' + st.index });
        box.checked = true;
        const series = el('ul', { class: 'series' });
        for (const se of st.series) {
          const what = `${se.modality} ${se.description}`.trim();
          const tile = el('div', { class: 'tile', text: 'drawing…' });
          tile.dataset.preview = se.preview; tile.dataset.what = what;
          series.append(el('li', {}, tile, el('span', { text: `${se.number} ${what} (${se.images})` })));
        }
        card.append(el('div', { class: 'study' },
          el('label', { for: 'st-' + st.index }, box, `${st.date} · ${st.modalities} · ${st.description || '(no description)'}`),
          el('p', { class: 'meta', text: `${st.images}, ${st.size}` }), series));
      }
      box.append(card);
    }
    if (v.several_patients) {
      $('several-text').textContent = v.several_patients;
      $('several').hidden = false;
    }
    const pl = $('problems-list');
    pl.replaceChildren();
    for (const pr of v.problems) pl.append(el('li', { text: `${pr.path}: ${pr.reason}` }));
    for (const w of v.warnings) pl.append(el('li', { text: w }));
    $('problems-title').textContent = v.problems.length
      ? `${v.problems.length} file(s) could not be used (they will be listed in the package)`
      : 'Notes about this disc';
    $('problems').hidden = pl.children.length === 0;
    if (v.patients.length) {
      $('out-folder').value = v.default_folder;
      $('out-name').value = v.default_name;
      $('save').hidden = false;
    }
  }

  async function startPack() {
    const studies = Array.from(document.querySelectorAll('.study-pick')).filter((b) => b.checked).map((b) => b.value);
    if (!studies.length) { showError('Choose at least one study.'); return; }
    try {
      await api('/api/pack', { studies, folder: $('out-folder').value, name: $('out-name').value, allow_multiple_patients: $('allow-multiple').checked });
    } catch (e) { showError(e.message); return; }
    show('packing');
    $('pack-stage').textContent = 'Starting…';
    $('pack-bar').value = 0;
    $('cancel-btn').disabled = false;
    poll(updatePack);
  }

  function updatePack(s) {
    const job = s.pack;
    if (!job) return false;
    const p = job.progress;
    if (job.running || (!job.outcome && !job.failure)) {
      const label = { Reading: 'Reading the disc again', Drawing: 'Drawing the previews', Packing: 'Copying the images' }[p.stage] || 'Working';
      $('pack-stage').textContent = p.total ? `${label}: ${p.done} of ${p.total}` : label + '…';
      if (p.total) $('pack-bar').value = p.done / p.total;
      $('pack-bytes').textContent = p.bytes_text || '';
      $('pack-rate').textContent = p.rate_text ? '· ' + p.rate_text : '';
      $('pack-eta').textContent = p.eta_text ? '· ' + p.eta_text : '';
      return true;
    }
    if (job.failure) {
      show('scan');
      if (job.failure.code === 'several_patients') $('several').hidden = false;
      showError(job.failure.message + (job.failure.detail ? '\n' + job.failure.detail : ''));
      return false;
    }
    const o = job.outcome;
    show('done');
    $('done-name').textContent = o.file_name;
    $('done-size').textContent = o.size;
    $('done-folder').textContent = o.folder;
    $('done-contents').textContent = o.contents;
    $('done-fingerprint').textContent = o.fingerprint;
    $('done-advice').replaceChildren(
      el('p', { text: `Send the file ${o.file_name} to your doctor: attach it to a secure e-mail or upload it where they ask, or copy it onto a USB stick or CD.` }),
      el('p', { text: 'The doctor can check that it arrived complete and unchanged: dicompack verify ' + o.file_name + ' — or, after unpacking, with any computer: sha256sum -c SHA256.TXT inside the folder.' }),
      el('p', { text: 'Read them the first characters of the fingerprint over the phone (' + o.fingerprint.slice(0, 16) + '…): their check must show the same fingerprint.' }));
    const left = $('done-left-out');
    left.replaceChildren();
    const missing = o.not_included.map((u) => `${u.path}: ${u.reason}`).concat(o.render_failures);
    if (missing.length) {
      left.append(el('p', { text: 'Not included (also listed inside the package):' }));
      const ul = el('ul');
      for (const m of missing) ul.append(el('li', { text: m }));
      left.append(ul);
    }
    left.hidden = !missing.length;
    return false;
  }

  // ----- the receiving flow ----------------------------------------------------------------
  async function openPackage(path) {
    try { await api('/api/open', { path }); } catch (e) { showError(e.message); return; }
    receivedShown = false;
    $('receive-input').textContent = path;
    $('receive-stage').hidden = false;
    $('verdict').hidden = true;
    $('verdict-problems').replaceChildren();
    $('received').replaceChildren();
    $('unpack').hidden = true;
    $('extract-result').textContent = '';
    poll(updateReceive);
  }

  function updateReceive(s) {
    const job = s.receive;
    if (!job) return false;
    if (job.failure) { $('receive-stage').hidden = true; showError(job.failure.message); return false; }
    if (!job.outcome) return true;
    const o = job.outcome;
    if (receivedShown) return false;
    receivedShown = true;
    $('receive-stage').hidden = true;
    const v = $('verdict');
    v.textContent = o.headline;
    v.className = o.ok ? 'ok' : 'failed';
    v.hidden = false;
    for (const pr of o.problems) $('verdict-problems').append(el('li', { text: pr }));
    if (o.note) $('verdict-problems').append(el('li', { text: o.note }));
    const box = $('received');
    for (const p of o.patients) {
      const card = el('div', { class: 'patient' }, el('h3', { text: p.name || 'Unnamed patient' }),
        el('p', { class: 'meta', text: `Patient ID ${p.id} · born ${p.born}` }));
      for (const st of p.studies) {
        const ul = el('ul', { class: 'series' });
        for (const se of st.series) {
          const what = `${se.modality} ${se.description}`.trim();
          ul.append(el('li', {}, se.preview === null ? el('div', { class: 'tile', text: 'no preview' })
            : el('img', { src: '/api/package-preview?id=' + se.preview, alt: 'Preview of ' + what }),
            el('span', { text: `${what} (${se.images})` })));
        }
        card.append(el('div', { class: 'study' }, el('p', { text: `${st.date} · ${st.description || '(no description)'}` }), ul));
      }
      box.append(card);
    }
    if (o.ok) {
      $('ex-folder').value = places.default_output;
      $('ex-name').value = (o.package.split(/[\\/]/).pop() || 'package').replace(/\.zip$/i, '');
      $('unpack').hidden = false;
    }
    return false;
  }

  async function startExtract() {
    try { await api('/api/extract', { folder: $('ex-folder').value, name: $('ex-name').value }); }
    catch (e) { showError(e.message); return; }
    hideError();
    $('extract-result').textContent = 'Checking and unpacking…';
    poll((s) => {
      const job = s.extract;
      if (!job || job.running) return true;
      if (job.failure) { $('extract-result').textContent = ''; showError(job.failure.message + (job.failure.detail ? '\n' + job.failure.detail : '')); return false; }
      if (job.outcome) { $('extract-result').textContent = `Unpacked ${job.outcome.files} files into ${job.outcome.folder}. Open INDEX.HTM there to look at the images.`; return false; }
      return true;
    });
  }

  // ----- the folder picker -------------------------------------------------------------------
  let picking = null; // { zips, done(path) }
  let pickerAt = '';
  let browsing = 0; // only the latest listing asked for is shown
  async function browse(path) {
    const mine = ++browsing;
    let l;
    try { l = await api('/api/browse?path=' + encodeURIComponent(path) + (picking.zips ? '&zips=1' : '')); }
    catch (e) { if (mine === browsing) showPickerError(e.message); return; }
    if (mine !== browsing) return;
    $('picker-error').hidden = true;
    pickerAt = l.path;
    $('picker-path').value = l.path;
    $('picker-up').disabled = !l.parent;
    $('picker-up').dataset.to = l.parent || '';
    const list = $('picker-list');
    list.replaceChildren();
    for (const f of l.files) {
      list.append(el('li', {}, el('button', { type: 'button', class: 'file', on: () => { $('picker').close(); picking.done(f.path); } }, '📦 ' + f.name)));
    }
    for (const d of l.folders) {
      list.append(el('li', {}, el('button', { type: 'button', on: () => browse(d.path) }, '📁 ' + d.name)));
    }
    if (!list.children.length) list.append(el('li', { text: picking.zips ? 'No packages or folders here.' : 'No folders here.' }));
    if (l.truncated) list.append(el('li', { text: 'Only the first entries are shown.' }));
  }
  function showPickerError(msg) { $('picker-error').textContent = msg; $('picker-error').hidden = false; }
  function openPicker(title, start, zips, done) {
    picking = { zips, done };
    $('picker-title').textContent = title;
    $('picker-use').hidden = zips;
    $('picker-list').replaceChildren();
    $('picker-path').value = '';
    const pp = $('picker-places');
    pp.replaceChildren();
    for (const d of places.drives.concat(places.folders)) pp.append(el('button', { type: 'button', on: () => browse(d.path) }, d.label));
    $('picker').showModal();
    browse(start || places.default_output);
  }

  // ----- wiring ------------------------------------------------------------------------------
  $('go-pack').addEventListener('click', async () => { show('choose'); try { await loadPlaces(); } catch (e) { showError(e.message); } });
  $('go-receive').addEventListener('click', async () => { show('receive'); try { await loadPlaces(); } catch (e) { showError(e.message); } });
  $('refresh-drives').addEventListener('click', () => loadPlaces().catch((e) => showError(e.message)));
  $('pick-folder').addEventListener('click', () => openPicker('Choose the folder to read', '', false, startScan));
  $('change-folder').addEventListener('click', () => openPicker('Choose where to save', $('out-folder').value, false, (p) => { $('out-folder').value = p; }));
  $('ex-change').addEventListener('click', () => openPicker('Choose where to unpack', $('ex-folder').value, false, (p) => { $('ex-folder').value = p; }));
  $('pick-package').addEventListener('click', () => openPicker('Choose the package (.zip)', '', true, openPackage));
  $('pack-btn').addEventListener('click', startPack);
  $('extract-btn').addEventListener('click', startExtract);
  $('cancel-btn').addEventListener('click', async () => {
    $('cancel-btn').disabled = true;
    $('pack-stage').textContent = 'Stopping…';
    try { await api('/api/cancel', { job: 'pack' }); } catch (e) { showError(e.message); }
  });
  $('picker-go').addEventListener('click', () => browse($('picker-path').value));
  $('picker-path').addEventListener('keydown', (e) => { if (e.key === 'Enter') browse($('picker-path').value); });
  $('picker-up').addEventListener('click', () => browse($('picker-up').dataset.to));
  $('picker-use').addEventListener('click', () => { $('picker').close(); picking.done(pickerAt); });
  $('picker-cancel').addEventListener('click', () => $('picker').close());
  for (const b of document.querySelectorAll('.back')) b.addEventListener('click', () => { clearInterval(timer); show('home'); });

  // The server stops when the page has been gone for a while.
  setInterval(() => api('/api/heartbeat', {}).catch(() => {}), 5000);
  window.addEventListener('pagehide', () => navigator.sendBeacon('/api/bye', csrf));
  api('/api/heartbeat', {}).catch(() => {});
  loadPlaces().catch(() => {});
})();
