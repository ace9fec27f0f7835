// Cameras in the console (docs/video.md): a real HLS stream, made by ffmpeg
// (H.264 test pattern, 1 s segments) and served by a node HTTP server
// beside the test as the video network would (with CORS), plays in a
// camera's drawer — the video's time advances and it has a picture — and a
// snapshot downloads a PNG of the frame's size; the play is audited. On an
// isolated person's page, community staff find the cameras near the
// building and play one; that play is audited with the person. The public
// toilets tab lists a toilet with its camera.
//
// ffmpeg is required (scripts/deps.sh installs it; CI has it). Without it
// this file is skipped, loudly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { selectors } from 'playwright-core';
import { launch, assertClean, shot, consolePage, openPage, adoptSession, choose } from './lib.mjs';
import { startCityWith, residentId, auditEntries } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Cameras-ui-2026!';
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const HOME = { lng: 116.41, lat: 39.91 };
const FFMPEG = process.env.FK_FFMPEG || 'ffmpeg';
const haveFfmpeg = spawnSync(FFMPEG, ['-version']).status === 0;
if (!haveFfmpeg) {
  console.error('\n#### SKIPPED: tests/browser/cameras.test.mjs needs ffmpeg to make a real HLS stream (scripts/deps.sh installs it) ####\n');
}

let ctx, browser, cc, comm, auditor, video, hlsDir, camera, observation, person, toilet;

// The video network: the playlist and segments ffmpeg wrote, any origin
// allowed (hls.js reads them with XHR from the console's origin).
function videoNetwork(dir) {
  const types = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' };
  const srv = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname);
    const file = path.join(dir, name);
    if (!req.url.startsWith('/live/') || !fs.existsSync(file)) {
      res.writeHead(404, { 'access-control-allow-origin': '*' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[path.extname(name)] || 'application/octet-stream', 'access-control-allow-origin': '*' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv)));
}

before(async () => {
  if (!haveFfmpeg) return;
  hlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-hls-'));
  // 20 s of a 320x240 test pattern at 10 frames a second, a key frame every
  // second: segments of 1 s, the whole list (VOD: it plays from the start)
  execFileSync(FFMPEG, ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '20',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-profile:v', 'baseline', '-g', '10', '-f', 'hls', '-hls_time', '1',
    '-hls_list_size', '0', '-hls_segment_filename', path.join(hlsDir, 'seg%03d.ts'), path.join(hlsDir, 'out.m3u8')]);
  assert.ok(fs.readdirSync(hlsDir).filter((f) => f.endsWith('.ts')).length >= 10);
  video = await videoNetwork(hlsDir);
  const origin = `http://127.0.0.1:${video.address().port}`;
  ctx = await startCityWith(
    { cc_dc: ['command_center', '110101000000'], comm_s1: ['community_staff', COMMUNITY], auditor: ['audit_admin', '110000000000'] },
    PW,
    { env: { FK_VIDEO_ORIGINS: origin } },
  );
  ({ cc_dc: cc, comm_s1: comm, auditor } = ctx.as);
  let r = await cc.patch(`/api/v1/regions/${BUILDING}`, { center: [HOME.lng, HOME.lat] });
  assert.equal(r.status, 200, r.text);
  r = await cc.post('/api/v1/places', { name: '多福巷公厕', kind: 'toilet', region_code: COMMUNITY, lng: HOME.lng, lat: HOME.lat + 0.0005 });
  assert.equal(r.status, 201, r.text);
  toilet = r.body;
  r = await cc.post('/api/v1/cameras', {
    name: '多福巷1号楼东门', kind: 'dome', region_code: COMMUNITY, lng: HOME.lng, lat: HOME.lat + 0.0004,
    stream_url: `${origin}/live/out.m3u8`, object_kind: 'toilet', object_id: toilet.id,
  });
  assert.equal(r.status, 201, r.text);
  camera = r.body;
  r = await cc.post('/api/v1/persons', { name: '居家乙', id_number: residentId('110101', '19850505', 21), region_code: BUILDING });
  assert.equal(r.status, 201, r.text);
  person = r.body;
  r = await comm.post('/api/v1/observations', { person_id: person.id, kind: 'home_isolation', source: 'grid_patrol' });
  assert.equal(r.status, 201, r.text);
  observation = r.body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
  video?.close();
  if (hlsDir) fs.rmSync(hlsDir, { recursive: true, force: true });
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

// The <video> of the player once it has played past `seconds`, with a
// picture: its time, size and how it played.
async function seePlaying(page, seconds = 1.5) {
  const v = field(page, 'camera-video');
  await v.waitFor();
  await page.waitForFunction(
    ([sel, s]) => {
      const el = document.querySelector(sel);
      return el && el.currentTime > s && el.videoWidth > 0 && !el.paused;
    },
    ['[data-test=camera-video]', seconds],
    { timeout: 30000 },
  );
  const state = await v.evaluate((el) => ({ t: el.currentTime, w: el.videoWidth, h: el.videoHeight }));
  // still advancing: it plays, not a frame that stopped
  await page.waitForFunction(([sel, t]) => document.querySelector(sel).currentTime > t + 0.5, ['[data-test=camera-video]', state.t], { timeout: 10000 });
  return state;
}

// width and height of a PNG (its IHDR chunk)
function pngSize(buf) {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG', 'a PNG file');
  return { w: buf.readUInt32BE(16), h: buf.readUInt32BE(20) };
}

// The drawer's player, the snapshot and the audit of the play; `forceHlsJs`
// hides the browser's own HLS support (Chromium has it since 2025), so the
// player takes hls.js, imported lazily from fangkong's own assets.
async function playInDrawer(forceHlsJs) {
  const page = await openPage(browser);
  await adoptSession(page, cc);
  if (forceHlsJs) {
    await page.addInitScript(() => {
      const own = HTMLMediaElement.prototype.canPlayType;
      HTMLMediaElement.prototype.canPlayType = function (t) { return /mpegurl/i.test(t) ? '' : own.call(this, t); };
    });
  }
  const hlsChunks = [];
  page.on('request', (req) => { if (/\/assets\/hls[.-][^/]*\.js$/.test(new URL(req.url()).pathname)) hlsChunks.push(req.url()); });
  await page.goto(`${ctx.url}/console/#/cameras`);
  const row = field(page, 'camera-table').locator('tr').filter({ hasText: '多福巷1号楼东门' });
  await row.getByText('公共厕所：多福巷公厕').waitFor();
  assert.equal(hlsChunks.length, 0, 'hls.js is not loaded with the list');
  if (forceHlsJs) {
    // 播放 in the list plays at once
    await row.locator('[data-test=camera-view]').click();
    await field(page, 'camera-drawer').waitFor();
  } else {
    // the name opens the drawer without playing: nothing is played (or audited) until asked
    await row.locator('[data-test=camera-open]').click();
    await field(page, 'camera-drawer').waitFor();
    await field(page, 'camera-start').waitFor();
    assert.equal(await field(page, 'camera-video').evaluate((el) => el.currentSrc), '');
    await field(page, 'camera-start').click();
  }
  const { w, h } = await seePlaying(page);
  assert.deepEqual([w, h], [320, 240]);
  const how = await field(page, 'camera-player').innerText();
  assert.match(how, /播放中/);
  if (forceHlsJs) {
    assert.match(how, /hls\.js 播放/);
    assert.equal(hlsChunks.length, 1, 'hls.js came from fangkong, once the player opened');
    assert.ok(hlsChunks[0].startsWith(ctx.url), hlsChunks[0]);
  } else {
    assert.match(how, /浏览器原生播放|hls\.js 播放/);
  }
  await shot(page, forceHlsJs ? 'console-camera-playing-hlsjs' : 'console-camera-playing');

  const [download] = await Promise.all([page.waitForEvent('download'), field(page, 'camera-snapshot').click()]);
  assert.match(download.suggestedFilename(), /^多福巷1号楼东门-\d{8}-\d{6}\.png$/);
  const file = path.join(hlsDir, `snapshot-${forceHlsJs ? 'hlsjs' : 'native'}.png`);
  await download.saveAs(file);
  assert.deepEqual(pngSize(fs.readFileSync(file)), { w: 320, h: 240 });
  // a snapshot of a picture, not of a black box: testsrc has many colours
  const distinct = await field(page, 'camera-shot').first().evaluate(async (img) => {
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 97) seen.add(`${d[i] >> 5},${d[i + 1] >> 5},${d[i + 2] >> 5}`);
    return seen.size;
  });
  assert.ok(distinct >= 6, `colours in the snapshot: ${distinct}`);
  assertClean(page);
  await page.context().close();
}

test('a camera\'s drawer plays its HLS stream (the browser\'s own player) and takes a snapshot; the play is audited', { skip: !haveFfmpeg && 'ffmpeg missing' }, async () => {
  await playInDrawer(false);
  const audit = await auditEntries(auditor, 'camera.play', camera.id);
  assert.equal(audit[0]?.result, 'ok');
  assert.match(audit[0].detail, /purpose=ledger/);
});

test('the same stream through hls.js, where the browser has no HLS of its own', { skip: !haveFfmpeg && 'ffmpeg missing' }, async () => {
  await playInDrawer(true);
});

test('public toilets list their cameras; a link lists the cameras of one object', { skip: !haveFfmpeg && 'ffmpeg missing' }, async () => {
  let page = await consolePage(browser, ctx, '/cameras', cc);
  await page.getByRole('tab', { name: '公共厕所' }).click();
  const row = field(page, 'toilet-table').locator('tr').filter({ hasText: '多福巷公厕' });
  await row.locator('[data-test=toilet-camera]').getByText('多福巷1号楼东门').waitFor();
  assertClean(page);
  const r = await cc.post('/api/v1/cameras', { name: '别处的摄像头', kind: 'bullet', region_code: COMMUNITY, ...HOME, stream_url: 'rtsp://10.9.9.8/ch1' });
  assert.equal(r.status, 201, r.text);
  page = await consolePage(browser, ctx, `/cameras?object_kind=toilet&object_id=${toilet.id}`, cc);
  await field(page, 'camera-object-filter').getByText('多福巷公厕').waitFor();
  const names = await field(page, 'camera-table').locator('[data-test=camera-open]').allInnerTexts();
  assert.deepEqual(names, ['多福巷1号楼东门']);
  assertClean(page);
  await cc.del(`/api/v1/cameras/${r.body.id}`);
});

test('objects bound and removed in the drawer; a camera proposed near a toilet accepted', { skip: !haveFfmpeg && 'ffmpeg missing' }, async () => {
  let r = await cc.post('/api/v1/cameras', { name: '多福巷北口枪机', kind: 'bullet', region_code: COMMUNITY, lng: HOME.lng, lat: HOME.lat + 0.001, stream_url: 'rtsp://10.9.9.9/ch1' });
  assert.equal(r.status, 201, r.text);
  const north = r.body;
  const page = await consolePage(browser, ctx, '/cameras', cc);
  const row = field(page, 'camera-table').locator('tr').filter({ hasText: '多福巷北口枪机' });
  await row.locator('[data-test=camera-open]').click();
  const drawer = field(page, 'camera-drawer');
  await drawer.waitFor();
  await choose(page, 'bind-kind', '其他');
  await field(page, 'bind-name').fill('朝阳门菜市场');
  await field(page, 'bind-save').click();
  await field(page, 'camera-objects').getByText('朝阳门菜市场').waitFor();
  await row.getByText('其他：朝阳门菜市场').waitFor(); // the list reloaded
  // rtsp: the player says a browser cannot play it
  await field(page, 'camera-start').click();
  await field(page, 'camera-play-error').getByText('RTSP').waitFor();
  await field(page, 'camera-unbind').click();
  await page.getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await field(page, 'camera-objects').getByText('暂无数据').waitFor();
  await page.keyboard.press('Escape');

  await page.getByRole('tab', { name: '公共厕所' }).click();
  const toiletRow = field(page, 'toilet-table').locator('tr').filter({ hasText: '多福巷公厕' });
  await toiletRow.locator('[data-test=toilet-propose]').click();
  const proposal = field(page, 'toilet-proposals').locator('tr').filter({ hasText: '多福巷北口枪机' });
  await proposal.locator('[data-test=toilet-accept]').click();
  await proposal.getByText('已绑定').waitFor();
  await toiletRow.locator('[data-test=toilet-camera]').getByText('多福巷北口枪机').waitFor();
  r = await cc.get(`/api/v1/cameras/${north.id}`);
  assert.deepEqual(r.body.objects.map((o) => [o.kind, o.name]), [['toilet', '多福巷公厕']]);
  assert.equal((await auditEntries(auditor, 'camera.unbind', north.id)).length, 1);
  assertClean(page);
  await cc.del(`/api/v1/cameras/${north.id}`);
});

test('home isolation check: community staff play a camera near the building; audited with the person', { skip: !haveFfmpeg && 'ffmpeg missing' }, async () => {
  const page = await consolePage(browser, ctx, `/observations/${observation.id}`, comm);
  await field(page, 'iso-cameras').waitFor();
  await field(page, 'iso-search').click();
  const row = field(page, 'iso-table').locator('tr').filter({ hasText: '多福巷1号楼东门' });
  await row.waitFor();
  assert.match(await row.innerText(), /4\d 米/);
  assert.match(await field(page, 'iso-home').innerText(), /1号楼/);
  await row.locator('[data-test=iso-play]').click();
  await field(page, 'iso-player').waitFor();
  const { w } = await seePlaying(page);
  assert.equal(w, 320);
  await shot(page, 'console-isolation-video-check');
  const audit = await auditEntries(auditor, 'camera.play_isolation', person.id);
  assert.equal(audit[0]?.object_type, 'person');
  assert.match(audit[0].detail, new RegExp(`camera=${camera.id} observation=${observation.id} .*purpose=home_isolation_check`));
  assertClean(page);
});
