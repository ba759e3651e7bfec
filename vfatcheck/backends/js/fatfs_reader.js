// vfatcheck's reader around the npm package `fatfs` (natevw): for each [IMAGE, PATHS] of the JSON array
// on stdin, opens IMAGE through a read-only sector driver, lists every directory with fs.readdir and
// fs.stat, reads every file with fs.readFile, then looks up each of PATHS. One JSON object a line on
// stdout, each with "image": the index of its image in the array:
//   {"t":"entry","path":P,"name":N,"dir":B,"size":S,"sha256":H}  (or "stat_error"/"content_error")
//   {"t":"dir_error","path":P,"error":E}  (also a directory not walked: too deep, too many entries)
//   {"t":"lookup","path":P,"found":B,"dir":B,"sha256":H,"error":E}
//   {"t":"exception","during":CALL,"error":E}   fatfs threw inside its own callbacks (see `call`)
//   {"t":"mount_error","error":E}   {"t":"fatal","error":E,"during":CALL}   {"t":"done"} after each image
// Names are JSON strings, so every UTF-16 unit survives (a lone surrogate as \udXXX).
//
//   node fatfs_reader.js NODE_MODULES < JOBS.json        JOBS: [["IMAGE", ["PATH", ...]], ...]
'use strict';
const nodefs = require('fs');
const crypto = require('crypto');
const path = require('path');

const SECTOR = 512;
// A directory whose cluster is an ancestor's would otherwise be walked for ever.
const MAX_DEPTH = 64;
const MAX_ENTRIES = 50000;
const MAX_REMOUNTS = 1000;

function emit(record) {
  nodefs.writeSync(1, JSON.stringify({ ...record, image: state.index }) + '\n');
}

function describe(e) {
  if (!e || typeof e !== 'object') return String(e);
  const said = [e.code, e.message].filter(Boolean).join(': ') || String(e);
  return e.thrown ? `threw ${e.name}: ${said}` : said;
}

// A sector driver without writeSectors: fatfs then mounts read-only. The callback runs on the next
// tick, not inside the call, so that long directory walks do not grow the stack.
function driver(fd) {
  const size = nodefs.fstatSync(fd).size;
  return {
    sectorSize: SECTOR,
    numSectors: Math.floor(size / SECTOR),
    readSectors(i, dest, cb) {
      let got;
      try {
        got = nodefs.readSync(fd, dest, 0, dest.length, i * SECTOR);
      } catch (e) {
        return process.nextTick(cb, e);
      }
      if (got < dest.length) dest.fill(0, got);
      process.nextTick(cb, null, dest);
    },
  };
}

// fatfs throws from inside its own callbacks on some names (a tab, more than 255 units, the number it
// gives for an incomplete long name): in an application that ends the process. Here the call in flight
// fails with the exception, and since that instance's lock is never released, the next call mounts the
// image again.
const state = { fatfs: null, fd: null, index: 0, fs: null, inflight: null, doing: 'mount', remounts: 0 };

process.on('uncaughtException', (e) => {
  const fail = state.inflight;
  if (!fail || state.remounts >= MAX_REMOUNTS) {
    emit({ t: 'fatal', error: describe(e), during: state.doing });
    process.exit(3);
  }
  state.inflight = null;
  state.fs = null;
  if (e && typeof e === 'object') e.thrown = true;
  emit({ t: 'exception', during: state.doing, error: describe(e) });
  fail(e);
});

function settle(resolve, reject) {
  return (e, value) => {
    state.inflight = null;
    if (e) reject(e);
    else resolve(value);
  };
}

function mount() {
  state.doing = 'createFileSystem';
  return new Promise((resolve, reject) => {
    state.inflight = reject;
    const done = settle(resolve, reject);
    const made = state.fatfs.createFileSystem(driver(state.fd), { ro: true }, (e) => done(e, made));
  });
}

async function call(op, where) {
  if (!state.fs) {
    state.remounts += 1;
    state.fs = await mount();
  }
  state.doing = `${op} ${where}`;
  return new Promise((resolve, reject) => {
    state.inflight = reject;
    try {
      state.fs[op](where, settle(resolve, reject));
    } catch (e) {
      state.inflight = null;
      reject(e);
    }
  });
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// fs.stat opens the path as a file: a directory answers ISDIR, which is how this module tells one.
async function kind(full) {
  try {
    const stat = await call('stat', '/' + full);
    return { dir: stat.isDirectory(), size: stat.size };
  } catch (e) {
    if (e && e.code === 'ISDIR') return { dir: true };
    throw e;
  }
}

async function entry(where, name) {
  const shown = String(name); // an incomplete long name comes back as the number -1
  const full = where ? where + '/' + shown : shown;
  const record = { t: 'entry', path: full, name: shown };
  if (typeof name !== 'string') record.type = typeof name;
  try {
    Object.assign(record, await kind(full));
  } catch (e) {
    record.stat_error = describe(e);
    return record;
  }
  if (!record.dir) {
    try {
      record.sha256 = sha256(await call('readFile', '/' + full));
    } catch (e) {
      record.content_error = describe(e);
    }
  }
  return record;
}

let listed = 0;

async function walk(where, depth) {
  let names;
  try {
    names = await call('readdir', '/' + where);
  } catch (e) {
    emit({ t: 'dir_error', path: where, error: describe(e) });
    return;
  }
  for (const name of names) {
    if (++listed > MAX_ENTRIES) {
      emit({ t: 'dir_error', path: where, error: `not walked further: more than ${MAX_ENTRIES} entries` });
      return;
    }
    const record = await entry(where, name);
    emit(record);
    if (!record.dir) continue;
    if (depth + 1 < MAX_DEPTH) await walk(record.path, depth + 1);
    else emit({ t: 'dir_error', path: record.path, error: `not walked: ${MAX_DEPTH} levels deep` });
  }
}

async function lookup(wanted) {
  const record = { t: 'lookup', path: wanted, found: false };
  try {
    record.dir = (await kind(wanted)).dir;
    record.found = true;
    if (!record.dir) record.sha256 = sha256(await call('readFile', '/' + wanted));
  } catch (e) {
    record.error = describe(e);
  }
  return record;
}

async function readImage(image, wanted) {
  Object.assign(state, { fs: null, fd: null, remounts: 0 });
  listed = 0;
  try {
    state.fd = nodefs.openSync(image, 'r');
    state.fs = await mount();
  } catch (e) {
    emit({ t: 'mount_error', error: describe(e) });
    return;
  }
  await walk('', 0);
  for (const one of wanted) emit(await lookup(one));
}

async function main() {
  state.fatfs = require(path.join(process.argv[2], 'fatfs'));
  const jobs = JSON.parse(nodefs.readFileSync(0, 'utf8') || '[]');
  for (const [index, [image, wanted]] of jobs.entries()) {
    state.index = index;
    await readImage(image, wanted);
    if (state.fd !== null) nodefs.closeSync(state.fd);
    emit({ t: 'done' });
  }
}

main().then(
  () => process.exit(0), // fs.close arms a 500 ms timer that would keep node alive
  (e) => {
    emit({ t: 'fatal', error: describe(e), during: state.doing });
    process.exit(3);
  },
);
