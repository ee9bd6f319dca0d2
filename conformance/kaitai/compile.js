#!/usr/bin/env node
// Compiles a .ksy file to a Python module with the Kaitai Struct compiler's JS API.
//
//   node compile.js [KSY] [OUT_DIR]
//
// Defaults: KSY = ../../format-spec/dcf.ksy, OUT_DIR = .build/gen (both relative to this file).
// The npm package has no command-line entry point: it exports the compiler object, whose
// `compile(language, ksyObject, importer, debugMode)` returns a promise of
// { fileName: sourceText }.
'use strict';

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const compiler = require('kaitai-struct-compiler');

const here = __dirname;
const ksyPath = path.resolve(process.argv[2] || path.join(here, '..', '..', 'format-spec', 'dcf.ksy'));
const outDir = path.resolve(process.argv[3] || path.join(here, '.build', 'gen'));

function fail(message) {
  process.stderr.write(`compile.js: ${message}\n`);
  process.exit(1);
}

// The Scala.js compiler reports errors as Scala exceptions or arrays of problems; make them readable.
function describe(error) {
  if (Array.isArray(error)) {
    return error.map(describe).join('\n');
  }
  if (error && typeof error === 'object') {
    for (const key of ['getMessage__T', 'getMessage', 'toString']) {
      if (typeof error[key] === 'function') {
        try {
          const text = error[key]();
          if (text && text !== '[object Object]') return String(text);
        } catch (_) {
          // try the next way of describing it
        }
      }
    }
    if (error.message) return String(error.message);
    try {
      return JSON.stringify(error);
    } catch (_) {
      // fall through
    }
  }
  return String(error);
}

async function main() {
  let ksy;
  try {
    ksy = yaml.load(fs.readFileSync(ksyPath, 'utf8'), { filename: ksyPath });
  } catch (e) {
    fail(`cannot read ${ksyPath}: ${e.message}`);
  }
  let files;
  try {
    files = await compiler.compile('python', ksy, null, false);
  } catch (e) {
    fail(`kaitai-struct-compiler ${compiler.version} rejected ${ksyPath}:\n${describe(e)}`);
  }
  const names = Object.keys(files);
  if (names.length === 0) fail('the compiler produced no file');
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of names) {
    const target = path.join(outDir, name);
    // Write then rename, so a concurrent reader never sees half a module.
    const temp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temp, files[name]);
    fs.renameSync(temp, target);
    process.stdout.write(`${target}\n`);
  }
}

main().catch((e) => fail(describe(e)));
