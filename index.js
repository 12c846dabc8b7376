'use strict';
// The Amplify CLI plugin entry point: it runs the poolmigrate Go binary
// with the user's original arguments, in the user's terminal (prompts and
// progress work), and hands the exit code back to the CLI.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

// The platform packages that carry the prebuilt binary, one per
// platform npm can tell apart (package.json os/cpu); npm installs only the
// one that matches, as an optional dependency.
const PLATFORM_PACKAGES = {
  'linux-x64': '@poolmigrate/cli-linux-x64',
  'linux-arm64': '@poolmigrate/cli-linux-arm64',
  'darwin-x64': '@poolmigrate/cli-darwin-x64',
  'darwin-arm64': '@poolmigrate/cli-darwin-arm64',
  'win32-x64': '@poolmigrate/cli-win32-x64',
};

// isNativeBinary tells a built poolmigrate from a script, such as the
// `poolmigrate` link npm puts on PATH for bin.js: running that one from
// here would start this lookup again, for ever.
function isNativeBinary(file) {
  try {
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(2);
    fs.readSync(fd, head, 0, 2, 0);
    fs.closeSync(fd);
    return head.toString('latin1') !== '#!';
  } catch (e) {
    return false;
  }
}

// binary finds the poolmigrate executable: the installed platform
// package's, then a local build in bin/ (building from source), then one
// on PATH. It throws, saying what to do, when there is none.
function binary() {
  const exe = process.platform === 'win32' ? 'poolmigrate.exe' : 'poolmigrate';
  const platform = process.platform + '-' + process.arch;
  const pkg = PLATFORM_PACKAGES[platform];
  if (pkg) {
    try {
      const dir = path.dirname(require.resolve(pkg + '/package.json', { paths: [__dirname] }));
      const bin = path.join(dir, 'bin', exe);
      if (fs.existsSync(bin)) {
        return bin;
      }
    } catch (e) {
      // Not installed: optional dependencies were left out, or a local checkout.
    }
  }
  const local = path.join(__dirname, 'bin', exe);
  if (fs.existsSync(local)) {
    return local;
  }
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && isNativeBinary(path.join(dir, exe))) {
      return path.join(dir, exe);
    }
  }
  const err = new Error(pkg
    ? `the poolmigrate binary for ${platform} is missing: its package ${pkg} was not installed. ` +
      'Reinstall with `npm install -g amplify-poolmigrate`, without --omit=optional / --no-optional ' +
      '(the binary comes as an optional dependency), or build from source: `go build -o bin/poolmigrate .` in ' + __dirname
    : `poolmigrate has no prebuilt binary for ${platform} (there are: ${Object.keys(PLATFORM_PACKAGES).join(', ')}). ` +
      'Build it from source with Go: `go build -o bin/poolmigrate .` in ' + __dirname + ', or put poolmigrate on PATH');
  err.code = 'POOLMIGRATE_NO_BINARY';
  throw err;
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
  let bin;
  try {
    bin = binary();
  } catch (e) {
    context.print.error('poolmigrate: ' + e.message);
    process.exitCode = 1;
    return;
  }
  const r = spawnSync(bin, userArgs(context), { stdio: 'inherit', cwd: process.cwd(), env: projectEnv(context) });
  if (tpi) {
    keepTeamProviderInfo(tpiBefore, tpi);
  }
  if (r.error) {
    context.print.error('poolmigrate: run ' + bin + ': ' + r.error.message);
    process.exitCode = 1;
    return;
  }
  if (r.status !== 0) {
    process.exitCode = r.status === null ? 1 : r.status;
  }
}

async function handleAmplifyEvent() {}

module.exports = { executeAmplifyCommand, handleAmplifyEvent, binary, PLATFORM_PACKAGES };
