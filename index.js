'use strict';
// The Amplify CLI plugin entry point: it runs the poolmigrate Go binary
// with the user's original arguments, in the user's terminal (prompts and
// progress work), and hands the exit code back to the CLI.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function binary() {
  const name = process.platform === 'win32' ? 'poolmigrate.exe' : 'poolmigrate';
  const local = path.join(__dirname, 'bin', name);
  return fs.existsSync(local) ? local : name; // else the one on PATH
}

// The words after "poolmigrate" on the command line, so flags keep their
// order and form (the CLI's parsed options would turn -y into --yes and
// add yes:false).
function userArgs(context) {
  const argv = (context.input && context.input.argv) || process.argv;
  const i = argv.indexOf('poolmigrate');
  let args = i >= 0 ? argv.slice(i + 1) : argv.slice(2);
  if (i >= 0 && i + 1 < argv.length && argv.slice(2, i).length > 0) {
    // `amplify plan poolmigrate` (the CLI swaps noun and verb).
    args = argv.slice(2, i).concat(argv.slice(i + 1));
  }
  if (args.length === 0) {
    args = ['help'];
  }
  return args;
}

function projectEnv(context) {
  const env = { ...process.env };
  try {
    const info = context.amplify.getEnvInfo();
    if (info && info.projectPath && fs.existsSync(path.join(info.projectPath, 'amplify'))) {
      env.POOLMIGRATE_PROJECT = env.POOLMIGRATE_PROJECT || info.projectPath;
    }
    if (info && info.envName) {
      env.POOLMIGRATE_ENV = env.POOLMIGRATE_ENV || info.envName;
    }
  } catch (e) {
    // Outside a project: commands given pool ids still work.
  }
  return env;
}

// projectRoot finds the Amplify project above the working folder, as the
// binary does.
function projectRoot() {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'amplify', '.config', 'project-config.json'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      return null;
    }
  }
}

function readOrNull(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    return null;
  }
}

// After a plugin command the CLI writes team-provider-info.json from the
// copy it loaded before the command ran, which would undo what `patch`
// changed there. When the binary changed the file, its version is put
// back once the CLI is done.
function keepTeamProviderInfo(before, file) {
  const after = readOrNull(file);
  if (after === null || after === before) {
    return;
  }
  process.on('exit', () => {
    try {
      if (readOrNull(file) !== after) {
        fs.writeFileSync(file, after);
      }
    } catch (e) {
      // Nothing more can be done at exit; the file is in .poolmigrate/patches.
    }
  });
}

async function executeAmplifyCommand(context) {
  const root = projectRoot();
  const tpi = root && path.join(root, 'amplify', 'team-provider-info.json');
  const tpiBefore = tpi && readOrNull(tpi);
  const r = spawnSync(binary(), userArgs(context), { stdio: 'inherit', cwd: process.cwd(), env: projectEnv(context) });
  if (tpi) {
    keepTeamProviderInfo(tpiBefore, tpi);
  }
  if (r.error) {
    const msg = r.error.code === 'ENOENT'
      ? 'the poolmigrate binary was not found: run `npm run build` in ' + __dirname + ' (needs Go), or put poolmigrate on PATH'
      : r.error.message;
    context.print.error('poolmigrate: ' + msg);
    process.exitCode = 1;
    return;
  }
  if (r.status !== 0) {
    process.exitCode = r.status === null ? 1 : r.status;
  }
}

async function handleAmplifyEvent() {}

module.exports = { executeAmplifyCommand, handleAmplifyEvent };
