/* The drawing pad of the chapter "Your own digit" (book/_ext/drawpad.py puts it on the page).
 *
 * The reader draws; the page prepares the drawing exactly as mnist_tutorial/handwriting.py
 * prepares a photo (ink map, crop, Lanczos scaling to 20 pixels, centring by mass in 28 x 28,
 * normalisation) and runs the book's convolutional network, exported to ONNX at build time, with
 * onnxruntime-web. The runtime and the model are fetched from this site on the first stroke.
 */
(() => {
  "use strict";

  // ---- The chapter's preparation, in float32 where NumPy and Pillow compute in float32. ----

  const f32 = Math.fround;
  const BOX = 20; // the longer side of the digit, in pixels (fit_in_box)
  const SIZE = 28; // the side of the square (centre_by_mass)

  /** Python's round(): to the nearest integer, halves to the even one. */
  const roundHalfEven = (x) => {
    const r = Math.round(x);
    return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };

  /** ink_map: Pillow's grey level, inverted, paper (the median) removed, stretched, specks zeroed. */
  function inkMap(rgba, count, threshold) {
    const grey = new Uint8Array(count);
    const histogram = new Uint32Array(256);
    for (let i = 0; i < count; i++) {
      const p = 4 * i; // Pillow's RGB(A) to "L": ITU-R 601-2 weights in 16-bit fixed point
      const level = (rgba[p] * 19595 + rgba[p + 1] * 38470 + rgba[p + 2] * 7471 + 0x8000) >>> 16;
      grey[i] = level;
      histogram[level]++;
    }
    const inkOf = (level) => f32(1 - f32(level / 255));
    // np.median: sorting the ink values ascending is sorting the grey levels descending.
    const nth = (k) => {
      for (let level = 255, seen = 0; level >= 0; level--) {
        seen += histogram[level];
        if (seen > k) return inkOf(level);
      }
      return 0;
    };
    const half = count >> 1;
    const paper = count % 2 ? nth(half) : f32(f32(nth(half - 1) + nth(half)) / 2);
    let darkest = 0;
    while (histogram[darkest] === 0) darkest++;
    const span = f32(inkOf(darkest) - paper);
    const scale = 1e-6 > span ? f32(1e-6) : span;
    const floor = f32(threshold);
    const table = new Float32Array(256); // the result depends on the grey level alone
    for (let level = 0; level < 256; level++) {
      const value = Math.min(Math.max(f32(f32(inkOf(level) - paper) / scale), 0), 1);
      table[level] = value < floor ? 0 : value;
    }
    return Float32Array.from(grey, (level) => table[level]);
  }

  /** crop_to_ink: the smallest rectangle holding all the ink, or null when there is none. */
  function cropToInk(ink, width, height) {
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[y * width + x] !== 0) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    const w = right - left + 1, h = bottom - top + 1;
    const out = new Float32Array(w * h);
    for (let y = 0; y < h; y++) out.set(ink.subarray((top + y) * width + left, (top + y) * width + left + w), y * w);
    return { pixels: out, width: w, height: h };
  }

  // Pillow's Lanczos filter (libImaging/Resample.c): a sinc windowed by a sinc, support 3.
  const sinc = (x) => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));
  const lanczos = (x) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0);

  /** Resample.c's precompute_coeffs, for the whole input (box 0..inSize). */
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = 3 * filterScale;
    const ksize = Math.ceil(support) * 2 + 1;
    const weights = new Float64Array(outSize * ksize);
    const bounds = new Int32Array(outSize * 2);
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const ss = 1 / filterScale;
      const xmin = Math.max((center - support + 0.5) | 0, 0);
      const xmax = Math.min((center + support + 0.5) | 0, inSize) - xmin;
      let total = 0;
      for (let x = 0; x < xmax; x++) {
        const w = lanczos((x + xmin - center + 0.5) * ss);
        weights[xx * ksize + x] = w;
        total += w;
      }
      if (total !== 0) for (let x = 0; x < xmax; x++) weights[xx * ksize + x] /= total;
      bounds[2 * xx] = xmin;
      bounds[2 * xx + 1] = xmax;
    }
    return { weights, bounds, ksize };
  }

  /** Pillow's resize of a float ("F") image: a horizontal pass, then a vertical one, float32 between. */
  function resizeLanczos(pixels, width, height, outWidth, outHeight) {
    const vertical = coefficients(height, outHeight);
    const first = vertical.bounds[0];
    const last = vertical.bounds[2 * outHeight - 2] + vertical.bounds[2 * outHeight - 1];
    let image = pixels, imageWidth = width;
    if (outWidth !== width) {
      const { weights, bounds, ksize } = coefficients(width, outWidth);
      for (let i = 0; i < outHeight; i++) vertical.bounds[2 * i] -= first;
      const rows = last - first;
      const temp = new Float32Array(outWidth * rows);
      for (let yy = 0; yy < rows; yy++) {
        const row = (yy + first) * width;
        for (let xx = 0; xx < outWidth; xx++) {
          const xmin = bounds[2 * xx], xmax = bounds[2 * xx + 1], k = xx * ksize;
          let sum = 0;
          for (let x = 0; x < xmax; x++) sum += image[row + x + xmin] * weights[k + x];
          temp[yy * outWidth + xx] = sum;
        }
      }
      image = temp;
      imageWidth = outWidth;
    }
    if (outHeight !== height) {
      const { weights, bounds, ksize } = vertical;
      const out = new Float32Array(imageWidth * outHeight);
      for (let yy = 0; yy < outHeight; yy++) {
        const ymin = bounds[2 * yy], ymax = bounds[2 * yy + 1], k = yy * ksize;
        for (let xx = 0; xx < imageWidth; xx++) {
          let sum = 0;
          for (let y = 0; y < ymax; y++) sum += image[(y + ymin) * imageWidth + xx] * weights[k + y];
          out[yy * imageWidth + xx] = sum;
        }
      }
      image = out;
    }
    return image === pixels ? Float32Array.from(pixels) : image;
  }

  /** fit_in_box: scale so that the longer side is BOX pixels, keeping the proportions; clip to [0, 1]. */
  function fitInBox({ pixels, width, height }) {
    const factor = BOX / Math.max(height, width);
    const w = Math.max(1, roundHalfEven(width * factor)), h = Math.max(1, roundHalfEven(height * factor));
    const out = resizeLanczos(pixels, width, height, w, h).map((v) => Math.min(Math.max(v, 0), 1));
    return { pixels: out, width: w, height: h };
  }

  /** NumPy's sum of a contiguous array: pairwise, in blocks of 8 (rounded by `round` after each addition). */
  function pairwiseSum(values, start, n, round) {
    if (n < 8) {
      let sum = 0;
      for (let i = start; i < start + n; i++) sum = round(sum + values[i]);
      return sum;
    }
    if (n <= 128) {
      const r = Array.from(values.subarray(start, start + 8));
      let i = 8;
      for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = round(r[j] + values[start + i + j]);
      let sum = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) + round(round(r[4] + r[5]) + round(r[6] + r[7])));
      for (; i < n; i++) sum = round(sum + values[start + i]);
      return sum;
    }
    const half = (n >> 1) - ((n >> 1) % 8);
    return round(pairwiseSum(values, start, half, round) + pairwiseSum(values, start + half, n - half, round));
  }

  /** centre_by_mass: place the digit in SIZE x SIZE with its centre of mass in the middle. */
  function centreByMass({ pixels, width, height }) {
    // As NumPy computes them: the mass in float32, the moments (index times ink) in float64. A
    // symmetric digit puts its centre exactly on a half pixel, where the last bit decides.
    const count = width * height;
    const rowWeighted = new Float64Array(count), columnWeighted = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      rowWeighted[i] = Math.floor(i / width) * pixels[i];
      columnWeighted[i] = (i % width) * pixels[i];
    }
    const mass = pairwiseSum(pixels, 0, count, f32);
    const same = (x) => x;
    const centreRow = pairwiseSum(rowWeighted, 0, count, same) / mass;
    const centreColumn = pairwiseSum(columnWeighted, 0, count, same) / mass;
    const top = Math.min(Math.max(roundHalfEven(SIZE / 2 - centreRow), 0), SIZE - height);
    const left = Math.min(Math.max(roundHalfEven(SIZE / 2 - centreColumn), 0), SIZE - width);
    const square = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < height; y++) square.set(pixels.subarray(y * width, (y + 1) * width), (top + y) * SIZE + left);
    return square;
  }

  /**
   * mnist_like: RGBA pixels of a dark digit on light paper to the model's normalised 28 x 28 input
   * (a Float32Array of 784 values, row by row), or null when the picture holds no ink.
   */
  function prepare(rgba, width, height, { mean, std, threshold }) {
    const ink = inkMap(rgba, width * height, threshold);
    const cropped = cropToInk(ink, width, height);
    if (!cropped) return null;
    return centreByMass(fitInBox(cropped)).map((v) => (v - mean) / std);
  }

  globalThis.mnistDrawpad = { prepare };
  if (typeof document === "undefined") return;

  // ---- The pad: drawing, the network, the answer. ----

  const here = document.currentScript.src;
  const asset = (name) => new URL(name, here).href;
  let runtime = null; // the promise of {ort, session}, made on the first stroke

  function loadRuntime() {
    runtime ??= (async () => {
      const ort = await import(asset("ort/ort.wasm.min.mjs"));
      ort.env.wasm.wasmPaths = asset("ort/");
      ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a static site lacks
      const session = await ort.InferenceSession.create(asset("mnist-conv.onnx"), { executionProviders: ["wasm"] });
      return { ort, session };
    })();
    return runtime;
  }

  function setUp(root) {
    const canvas = root.querySelector("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const status = root.querySelector(".drawpad-status");
    const answer = root.querySelector(".drawpad-digit");
    const body = root.querySelector(".drawpad-bars tbody");
    const settings = { mean: +root.dataset.mean, std: +root.dataset.std, threshold: +root.dataset.threshold };
    const rows = Array.from({ length: 10 }, (_, digit) => {
      const row = body.insertRow();
      row.innerHTML = `<th scope="row">${digit}</th><td><span class="drawpad-track"><span></span></span><span>–</span></td>`;
      return row;
    });
    let stroke = null; // the pointer drawing now and its last point
    let timer = 0, busy = null, again = false;

    const blank = () => {
      context.save();
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.restore();
    };
    const point = (event) => {
      const box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
    };
    const percent = (p) => `${(100 * p).toFixed(1)} %`;
    const show = (probabilities) => {
      const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
      rows.forEach((row, digit) => {
        const p = probabilities ? probabilities[digit] : 0;
        row.classList.toggle("drawpad-best", digit === best);
        row.dataset.probability = probabilities ? String(p) : "";
        const [track, value] = row.cells[1].children;
        track.firstChild.style.width = `${100 * p}%`;
        value.textContent = probabilities ? percent(p) : "–";
      });
      answer.textContent = best < 0 ? "?" : String(best);
      return best;
    };
    const describe = (last) => {
      if (!last) return "Draw a digit in the box.";
      const [best, second] = last.probabilities.map((p, digit) => [p, digit]).sort((a, b) => b[0] - a[0]);
      return `Read as ${best[1]} with probability ${percent(best[0])}; runner-up ${second[1]} (${percent(second[0])}).`;
    };
    const say = (text) => {
      status.textContent = text;
    };

    async function read() {
      const { ort, session } = await loadRuntime();
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const input = prepare(pixels, canvas.width, canvas.height, settings);
      if (!input) {
        root.drawpadLast = null;
        return show(null);
      }
      const result = await session.run({ images: new ort.Tensor("float32", input, [1, 1, SIZE, SIZE]) });
      const probabilities = Array.from(result.probabilities.data);
      root.drawpadLast = { input, probabilities };
      return show(probabilities);
    }
    // Read at most every 150 ms while drawing, one reading at a time, and once more at the end.
    async function update() {
      timer = 0;
      if (busy) {
        again = true;
        return busy;
      }
      busy = read()
        .then(() => {
          if (!stroke && !again) say(describe(root.drawpadLast));
        })
        .catch((error) => {
          say(`The network could not be loaded (${error.message || error}). The pad needs the book served over HTTP.`);
        })
        .finally(() => {
          busy = null;
        });
      await busy;
      if (again) {
        again = false;
        return update();
      }
    }
    const schedule = (delay) => {
      if (!timer) timer = setTimeout(update, delay);
    };

    canvas.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || stroke) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      const [x, y] = point(event);
      stroke = { id: event.pointerId, x, y };
      context.beginPath();
      context.arc(x, y, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      if (!runtime) say("Loading the network…");
      loadRuntime().catch(() => {}); // errors are reported by update()
      schedule(150);
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!stroke || event.pointerId !== stroke.id) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      context.beginPath();
      context.moveTo(stroke.x, stroke.y);
      for (const each of events.length ? events : [event]) {
        [stroke.x, stroke.y] = point(each);
        context.lineTo(stroke.x, stroke.y);
      }
      context.stroke();
      schedule(150);
    });
    const end = (event) => {
      if (!stroke || event.pointerId !== stroke.id) return;
      stroke = null;
      clearTimeout(timer);
      update();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    root.querySelector(".drawpad-clear").addEventListener("click", async () => {
      clearTimeout(timer);
      timer = 0;
      await busy;
      blank();
      root.drawpadLast = null;
      show(null);
      say("Draw a digit in the box.");
    });

    context.lineWidth = canvas.width / 14;
    context.lineCap = context.lineJoin = "round";
    context.fillStyle = context.strokeStyle = "#000";
    blank();
    show(null);
    // For the browser tests (and the curious): wait until the pad has read what is drawn.
    const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    root.drawpadIdle = async () => {
      do {
        while (timer || busy) await (busy || pause(50));
        await pause(0); // a reading queued as the last one ended
      } while (timer || busy);
    };
  }

  document.querySelectorAll("[data-drawpad]").forEach(setUp);
})();
