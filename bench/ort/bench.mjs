// bench.mjs times one CLIP image tower exported by export.py in ONNX Runtime
// (onnxruntime-node, CPU) and prints one JSON line with the fields of
// "vlpuda bench clip -json", plus "engine".
//
// The session runs with intraOpNumThreads = --threads, interOpNumThreads = 1
// and graphOptimizationLevel "all". A batch of random images (seed 1) runs
// once to warm up and then --reps times; the best time is reported, as
// vlpuda and clip_bench.py do. peak_rss_mib is the process's peak resident
// set (process.resourceUsage().maxRSS), Node's own ~40 MiB included.
//
//	node bench/ort/bench.mjs --model models/vit-b16.onnx --case vit-b16-fwd-8 [--threads 2] [--reps 3]
//
// With --input FILE --output FILE it instead runs the tower once on the raw
// float32 images in FILE (N×3×224×224) and writes the features, raw float32,
// for the correctness check of run.py.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");
const { version } = require("onnxruntime-node/package.json");

const models = { "vit-b32": "ViT-B/32", "vit-b16": "ViT-B/16", rn50: "RN50" };
const resolution = 224;

function usage(msg) {
  console.error(`bench.mjs: ${msg}`);
  console.error("usage: node bench.mjs --model M.onnx (--case MODEL-fwd-BATCH [--threads N] [--reps N] | --input IN.f32 --output OUT.f32)");
  process.exit(2);
}

// positive parses a flag that must be a positive integer.
function positive(name, s) {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) usage(`--${name} ${s}: want a positive integer`);
  return v;
}

// randomImages returns n images of standard normal values from a fixed
// seed (xorshift32 and Box–Muller): the values only need to be ordinary
// floats, not the same as vlpuda's.
function randomImages(n) {
  const x = new Float32Array(n * 3 * resolution * resolution);
  let s = 1;
  const uniform = () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return ((s >>> 0) + 1) / 4294967297;
  };
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform())), t = 2 * Math.PI * uniform();
    x[i] = r * Math.cos(t);
    if (i + 1 < x.length) x[i + 1] = r * Math.sin(t);
  }
  return x;
}

// parseCase splits a case name such as "vit-b16-fwd-8" into its model and
// batch; only forward cases exist here (ONNX Runtime's Node package does
// not train).
function parseCase(name) {
  const m = /^(vit-b32|vit-b16|rn50)-fwd-(\d+)$/.exec(name);
  if (!m) usage(`--case ${name}: want vit-b32, vit-b16 or rn50, then fwd, then the batch (e.g. vit-b16-fwd-8)`);
  return { model: models[m[1]], batch: positive("case batch", m[2]) };
}

async function main() {
  let opts;
  try {
    opts = parseArgs({
      options: {
        model: { type: "string" }, case: { type: "string" }, threads: { type: "string", default: "2" },
        reps: { type: "string", default: "3" }, input: { type: "string" }, output: { type: "string" },
      },
      strict: true,
    }).values;
  } catch (err) {
    usage(err.message);
  }
  if (!opts.model) usage("--model is required");
  const check = opts.input !== undefined || opts.output !== undefined;
  if (check ? !(opts.input && opts.output) || opts.case : !opts.case) {
    usage("give --case, or --input and --output");
  }
  const threads = positive("threads", opts.threads), reps = positive("reps", opts.reps);
  const c = check ? null : parseCase(opts.case);
  let session;
  try {
    session = await ort.InferenceSession.create(opts.model, {
      intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all",
    });
  } catch (err) {
    throw new Error(`load ${opts.model}: ${err.message}`);
  }
  const [input] = session.inputNames, [output] = session.outputNames;
  const run = async (data, n) =>
    (await session.run({ [input]: new ort.Tensor("float32", data, [n, 3, resolution, resolution]) }))[output];

  if (check) {
    const buf = readFileSync(opts.input);
    const per = 3 * resolution * resolution * 4;
    if (buf.length === 0 || buf.length % per !== 0) {
      throw new Error(`read ${opts.input}: ${buf.length} bytes is not a whole number of ${per}-byte images`);
    }
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const out = await run(data, buf.length / per);
    const tmp = opts.output + ".tmp";
    writeFileSync(tmp, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    renameSync(tmp, opts.output);
    return;
  }

  const images = randomImages(c.batch);
  await run(images, c.batch); // warm up
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await run(images, c.batch);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({
    case: opts.case, model: c.model, batch: c.batch, train: false, threads,
    images_per_sec: c.batch / best, sec_per_batch: best,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024, engine: `onnxruntime-node ${version}`,
  }));
}

main().catch((err) => {
  console.error(`bench.mjs: ${err.message}`);
  process.exit(1);
});
