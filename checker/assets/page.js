// The drawing canvas of report.html: the run's own network reads the digit you draw.
// Self-contained, no network access: the weights and test digits come from the JSON block
// #kata-data that checker/webpage.py writes into the page.
//
// preprocess() is a port of checker/predict.py's to_mnist (with Pillow's Lanczos resize), so the
// page's 28x28 input is the one `kata predict drawing.png` would use; forward() is the reference
// forward pass of any depth: dense, ReLU, ..., dense, softmax, after the convolution layers of a
// CNN (checker/cnn.py: conv, max-pool, ReLU, for every 4-D W).
"use strict";

(function () {
  const SIDE = 28, DIGIT_BOX = 20, INK = 0.1, TOP_UNITS = 6, POOL = 2;  // POOL: checker/cnn.py's
  const data = JSON.parse(document.getElementById("kata-data").textContent);
  const $ = (id) => document.getElementById(id);

  // --- the network ---------------------------------------------------------------------------

  function float32s(base64) {  // little-endian float32 array, whatever the machine's byte order
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  // A 4-D shape (F, C, KH, KW) is a convolution layer, a 2-D one (fan_in, fan_out) a dense layer.
  const layers = data.network ? data.network.layers.map((layer) => ({
    shape: layer.shape, conv: layer.shape.length === 4, W: float32s(layer.W), b: float32s(layer.b),
  })) : null;
  const convolutional = !!layers && layers[0].conv;

  // checker/cnn.py's convolution layer on maps a (C, H, W): conv2d with stride 1 and "same" padding
  // KH // 2 (cross-correlation), then max-pooling POOL x POOL with stride POOL, then ReLU.
  function convolutionLayer(a, [C, H, Wd], layer) {
    const [F, , KH, KW] = layer.shape, W = layer.W, pad = Math.floor(KH / 2);
    const outH = H + 2 * pad - KH + 1, outW = Wd + 2 * pad - KW + 1;
    const z = new Float64Array(F * outH * outW);
    for (let f = 0; f < F; f++) {
      z.fill(layer.b[f], f * outH * outW, (f + 1) * outH * outW);
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < KH; i++) {
          for (let j = 0; j < KW; j++) {
            const w = W[((f * C + c) * KH + i) * KW + j];
            if (w === 0) continue;
            const xStart = Math.max(0, pad - j), xEnd = Math.min(outW, Wd + pad - j);
            for (let y = 0; y < outH; y++) {
              const sourceRow = y + i - pad;
              if (sourceRow < 0 || sourceRow >= H) continue;
              const into = (f * outH + y) * outW, from = (c * H + sourceRow) * Wd + j - pad;
              for (let x = xStart; x < xEnd; x++) z[into + x] += w * a[from + x];
            }
          }
        }
      }
    }
    const poolH = Math.floor((outH - POOL) / POOL) + 1, poolW = Math.floor((outW - POOL) / POOL) + 1;
    const out = new Float64Array(F * poolH * poolW);
    for (let f = 0; f < F; f++) {
      for (let y = 0; y < poolH; y++) {
        for (let x = 0; x < poolW; x++) {
          let top = -Infinity;
          for (let p = 0; p < POOL; p++) {
            const row = (f * outH + y * POOL + p) * outW + x * POOL;
            for (let q = 0; q < POOL; q++) top = Math.max(top, z[row + q]);
          }
          out[(f * poolH + y) * poolW + x] = Math.max(top, 0);
        }
      }
    }
    return { a: out, shape: [F, poolH, poolW] };
  }

  // Probabilities (C,) for one image (784,); the first hidden layer's activations (an MLP's units)
  // or the first convolution layer's maps {values (F*H*W), shape [F, H, W]} (a CNN's).
  function forward(pixels) {
    let a = Float64Array.from(pixels), shape = [1, SIDE, SIDE], firstHidden = null, firstMaps = null;
    layers.forEach((layer, index) => {
      if (layer.conv) {
        ({ a, shape } = convolutionLayer(a, shape, layer));
        if (firstMaps === null) firstMaps = { values: a, shape };
        return;
      }
      const z = Float64Array.from(layer.b), n = layer.shape[1], W = layer.W;  // a flattened in (C, H, W) order
      for (let i = 0; i < layer.shape[0]; i++) {
        const ai = a[i];
        if (ai === 0) continue;
        const row = i * n;
        for (let j = 0; j < n; j++) z[j] += ai * W[row + j];
      }
      if (index < layers.length - 1) {
        for (let j = 0; j < n; j++) z[j] = Math.max(z[j], 0);
        if (firstHidden === null) firstHidden = z;
      }
      a = z;
      shape = [n];
    });
    let top = -Infinity, total = 0;
    for (const v of a) top = Math.max(top, v);
    const probs = a.map((v) => Math.exp(v - top));
    for (const p of probs) total += p;
    return { probs: Array.from(probs, (p) => p / total), hidden: firstHidden ? Array.from(firstHidden) : [], maps: firstMaps };
  }

  // --- preprocessing: checker/predict.py's to_mnist, step by step ---------------------------

  const f32 = Math.fround;
  function roundHalfEven(x) {  // Python's round()
    const r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  // Pillow's resampling coefficients (libImaging/Resample.c, precompute_coeffs) for Lanczos.
  function sinc(x) { if (x === 0) return 1; x *= Math.PI; return Math.sin(x) / x; }
  function lanczos(x) { return (-3 <= x && x < 3) ? sinc(x) * sinc(x / 3) : 0; }
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = 3 * filterScale;
    const taps = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const k = [];
      let total = 0;
      for (let x = 0; x < xmax; x++) {
        const w = lanczos((x + xmin - center + 0.5) / filterScale);
        k.push(w);
        total += w;
      }
      taps.push({ xmin, k: k.map((w) => (total !== 0 ? w / total : w)) });
    }
    return taps;
  }

  // Image.resize(LANCZOS) of a float32 ("F") image: horizontal pass, then vertical, in doubles,
  // each pass stored as float32, as Pillow does.
  function resizeLanczos(src, height, width, outHeight, outWidth) {
    let cur = src, curWidth = width;
    if (outWidth !== width) {
      const taps = coefficients(width, outWidth), out = new Float32Array(height * outWidth);
      for (let y = 0; y < height; y++) {
        for (let xx = 0; xx < outWidth; xx++) {
          const { xmin, k } = taps[xx];
          let s = 0;
          for (let x = 0; x < k.length; x++) s += cur[y * width + x + xmin] * k[x];
          out[y * outWidth + xx] = s;
        }
      }
      cur = out; curWidth = outWidth;
    }
    if (outHeight !== height) {
      const taps = coefficients(height, outHeight), out = new Float32Array(outHeight * curWidth);
      for (let yy = 0; yy < outHeight; yy++) {
        const { xmin, k } = taps[yy];
        for (let x = 0; x < curWidth; x++) {
          let s = 0;
          for (let y = 0; y < k.length; y++) s += cur[(y + xmin) * curWidth + x] * k[y];
          out[yy * curWidth + x] = s;
        }
      }
      cur = out;
    }
    return cur;
  }

  // MNIST's form of a grayscale picture (height x width, values in [0, 1]): {image (784,), notes},
  // or null when no pixel stands out from the background.
  function preprocess(gray, height, width) {
    gray = Float32Array.from(gray);
    const notes = [];
    let border = 0;
    for (let x = 0; x < width; x++) border += gray[x] + gray[(height - 1) * width + x];
    for (let y = 0; y < height; y++) border += gray[y * width] + gray[y * width + width - 1];
    if (border / (2 * width + 2 * height) > 0.5) {
      for (let i = 0; i < gray.length; i++) gray[i] = f32(1 - gray[i]);
      notes.push("inverted");
    }
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (gray[y * width + x] > INK) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    if (height === SIDE && width === SIDE) return { image: gray, notes };
    const digitHeight = bottom - top + 1, digitWidth = right - left + 1;
    const digit = new Float32Array(digitHeight * digitWidth);
    for (let y = 0; y < digitHeight; y++) {
      for (let x = 0; x < digitWidth; x++) digit[y * digitWidth + x] = gray[(y + top) * width + x + left];
    }
    const scale = DIGIT_BOX / Math.max(digitHeight, digitWidth);
    const smallWidth = Math.max(1, roundHalfEven(digitWidth * scale));
    const smallHeight = Math.max(1, roundHalfEven(digitHeight * scale));
    const small = resizeLanczos(digit, digitHeight, digitWidth, smallHeight, smallWidth);
    let brightest = 0;
    for (let i = 0; i < small.length; i++) { small[i] = Math.max(small[i], 0); brightest = Math.max(brightest, small[i]); }
    brightest = Math.max(brightest, 1e-6);
    let mass = 0, rowMass = 0, columnMass = 0;
    for (let y = 0; y < smallHeight; y++) {
      for (let x = 0; x < smallWidth; x++) {
        const i = y * smallWidth + x;
        small[i] = small[i] / brightest;  // thin pen strokes as bright as MNIST's
        const weight = f32(small[i] + 1e-9);
        mass += weight; rowMass += y * weight; columnMass += x * weight;
      }
    }
    const clip = (v, hi) => Math.min(Math.max(v, 0), hi);
    const topEdge = clip(roundHalfEven(SIDE / 2 - rowMass / mass), SIDE - smallHeight);
    const leftEdge = clip(roundHalfEven(SIDE / 2 - columnMass / mass), SIDE - smallWidth);
    const image = new Float32Array(SIDE * SIDE);
    for (let y = 0; y < smallHeight; y++) {
      for (let x = 0; x < smallWidth; x++) image[(y + topEdge) * SIDE + x + leftEdge] = small[y * smallWidth + x];
    }
    notes.push("scaled");
    return { image, notes };
  }

  // Grayscale in [0, 1] of RGBA pixels, as Pillow's convert("L") (ITU-R 601-2 luma) / 255.
  function grayOf(rgba) {
    const gray = new Float32Array(rgba.length / 4);
    for (let i = 0; i < gray.length; i++) {
      const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
      gray[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
    }
    return gray;
  }

  // --- the page ------------------------------------------------------------------------------

  const api = {
    supported: !!layers, forward: layers ? forward : null, preprocess, grayOf,
    input: null, probs: null, predictions: 0, firstPredictionMs: null, ready: false,
  };
  window.kataPage = api;
  if (!layers) { api.ready = true; return; }

  const board = $("board"), ink = board.getContext("2d", { willReadFrequently: true });
  const seen = $("seen").getContext("2d");
  const penWidth = () => Math.round(board.width / 14);

  function clearBoard() {
    ink.fillStyle = "#000";
    ink.fillRect(0, 0, board.width, board.height);
  }

  function paintGray(context, pixels, side, colour, height = side) {  // side wide, one cell per value
    const picture = context.createImageData(side, height);
    for (let i = 0; i < side * height; i++) {
      const [r, g, b] = colour(pixels[i]);
      picture.data.set([r, g, b, 255], 4 * i);
    }
    context.putImageData(picture, 0, 0);
  }
  const grayscale = (v) => { const c = Math.round(Math.min(Math.max(v, 0), 1) * 255); return [c, c, c]; };

  function showPrediction(pixels, source) {
    const { probs, hidden, maps } = forward(pixels);
    api.input = Array.from(pixels); api.probs = probs; api.predictions += 1;
    const best = probs.indexOf(Math.max(...probs));
    paintGray(seen, pixels, SIDE, grayscale);
    probs.forEach((p, digit) => {
      const row = $(`bar-${digit}`);
      row.classList.toggle("best", digit === best);
      row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
    });
    $("verdict").textContent = `${source}: the network reads ${best} (${(100 * probs[best]).toFixed(1)}% sure)`;
    $("verdict").dataset.digit = String(best);
    if (convolutional) showFilters(maps); else showHiddenUnits(hidden);
    if (api.firstPredictionMs === null) api.firstPredictionMs = performance.now();
  }

  // Blue: ink there excites the unit (raises the filter's output); red: inhibits it. w in [-1, 1].
  const signed = (w) => {
    const t = Math.min(Math.abs(w), 1);
    return w >= 0 ? [255 * (1 - t), 255 * (1 - 0.6 * t), 255] : [255, 255 * (1 - 0.8 * t), 255 * (1 - 0.8 * t)];
  };

  // A CNN: the first convolution layer's filters with the largest mean output, each as its weights
  // (channel 0: the image) and its pooled ReLU map of the digit.
  function showFilters(maps) {
    const [F, H, Wd] = maps.shape, size = H * Wd, [, C, KH, KW] = layers[0].shape, W = layers[0].W;
    const means = Array.from({ length: F }, (_, f) => {
      let total = 0;
      for (let i = 0; i < size; i++) total += maps.values[f * size + i];
      return [total / size, f];
    });
    const order = means.sort((p, q) => q[0] - p[0]).slice(0, TOP_UNITS);
    let brightest = 1e-12;
    for (const [, f] of order) for (let i = 0; i < size; i++) brightest = Math.max(brightest, maps.values[f * size + i]);
    const list = $("units");
    list.replaceChildren();
    for (const [mean, f] of order) {
      const item = document.createElement("li"), pair = document.createElement("div");
      const kernel = document.createElement("canvas"), map = document.createElement("canvas");
      pair.className = "pair";
      kernel.width = KW; kernel.height = KH; map.width = Wd; map.height = H;
      for (const picture of [kernel, map]) picture.setAttribute("aria-hidden", "true");
      const weights = Array.from(W.subarray(f * C * KH * KW, f * C * KH * KW + KH * KW));
      const largest = Math.max(1e-12, ...weights.map(Math.abs));
      // Red raises the output, as in first_layer_filters.png (and the opposite of the MLP's units).
      paintGray(kernel.getContext("2d"), weights.map((w) => -w / largest), KW, signed, KH);
      paintGray(map.getContext("2d"), maps.values.subarray(f * size, (f + 1) * size).map((v) => v / brightest), Wd, grayscale, H);
      const label = document.createElement("span");
      label.textContent = `filter ${f + 1}: ${mean.toFixed(2)}`;
      pair.append(kernel, map);
      item.append(pair, label);
      list.append(item);
    }
    $("units-none").hidden = order.length > 0 && order[0][0] > 0;
  }

  function showHiddenUnits(hidden) {
    const order = hidden.map((v, j) => [v, j]).sort((p, q) => q[0] - p[0]).slice(0, TOP_UNITS);
    const list = $("units");
    list.replaceChildren();
    const W1 = layers[0].W, n = layers[0].shape[1];
    let largest = 1e-12;
    for (const [, j] of order) for (let i = 0; i < SIDE * SIDE; i++) largest = Math.max(largest, Math.abs(W1[i * n + j]));
    for (const [value, j] of order) {
      const item = document.createElement("li"), picture = document.createElement("canvas");
      picture.width = picture.height = SIDE;
      picture.setAttribute("aria-hidden", "true");
      const weights = Array.from({ length: SIDE * SIDE }, (_, i) => W1[i * n + j] / largest);
      paintGray(picture.getContext("2d"), weights, SIDE, signed);
      const label = document.createElement("span");
      label.textContent = `unit ${j}: ${value.toFixed(2)}`;
      item.append(picture, label);
      list.append(item);
    }
    $("units-none").hidden = order.length > 0 && order[0][0] > 0;
  }

  // Drawing: pointer events serve mouse, touch and pen alike.
  let stroke = null, pending = false;
  function point(event) {  // in canvas pixels, whatever size the canvas is shown at
    const box = board.getBoundingClientRect();
    return [(event.clientX - box.left - board.clientLeft) * board.width / board.clientWidth,
            (event.clientY - box.top - board.clientTop) * board.height / board.clientHeight];
  }
  function readDrawing() {
    pending = false;
    const picture = ink.getImageData(0, 0, board.width, board.height);
    const result = preprocess(grayOf(picture.data), board.height, board.width);
    if (!result) { $("verdict").textContent = "Draw a digit: the canvas is empty."; return; }
    showPrediction(result.image, "Your drawing");
  }
  function schedule() { if (!pending) { pending = true; requestAnimationFrame(readDrawing); } }

  board.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    board.setPointerCapture(event.pointerId);
    stroke = point(event);
    ink.strokeStyle = "#fff"; ink.fillStyle = "#fff"; ink.lineWidth = penWidth();
    ink.lineCap = "round"; ink.lineJoin = "round";
    ink.beginPath(); ink.arc(stroke[0], stroke[1], penWidth() / 2, 0, 2 * Math.PI); ink.fill();
    schedule();
  });
  board.addEventListener("pointermove", (event) => {
    if (!stroke) return;
    // A fast stroke arrives as one event per frame; the coalesced ones hold every point between.
    const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    ink.beginPath(); ink.moveTo(...stroke);
    for (const each of coalesced.length ? coalesced : [event]) { stroke = point(each); ink.lineTo(...stroke); }
    ink.stroke();
    schedule();
  });
  const endStroke = () => { if (stroke) { stroke = null; readDrawing(); } };
  board.addEventListener("pointerup", endStroke);
  board.addEventListener("pointercancel", endStroke);

  $("clear").addEventListener("click", () => {
    clearBoard();
    seen.clearRect(0, 0, SIDE, SIDE);
    for (let digit = 0; digit < 10; digit++) {
      const row = $(`bar-${digit}`);
      row.classList.remove("best");
      row.querySelector(".fill").style.width = "0";
      row.querySelector(".value").textContent = "0.0%";
    }
    $("units").replaceChildren();
    $("verdict").textContent = "Draw a digit in the black square.";
    delete $("verdict").dataset.digit;
  });

  // Test digits: fed to the network as they are (28x28 already), as `kata predict --index N` does.
  function loadDigit(digit) {
    const pixels = Uint8Array.from(atob(digit.pixels), (c) => c.charCodeAt(0));
    const image = Float32Array.from(pixels, (v) => v / 255);
    const small = document.createElement("canvas");
    small.width = small.height = SIDE;
    paintGray(small.getContext("2d"), image, SIDE, grayscale);
    clearBoard();
    ink.imageSmoothingEnabled = false;
    ink.drawImage(small, 0, 0, board.width, board.height);
    showPrediction(image, `Test image ${digit.index} (a ${digit.label})`);
  }
  const samples = $("samples");
  data.digits.forEach((digit) => {
    const button = document.createElement("button"), picture = document.createElement("canvas");
    button.type = "button";
    button.className = digit.predicted === digit.label ? "sample" : "sample wrong";
    const verdict = digit.predicted === digit.label ? "read right" : `read as ${digit.predicted}`;
    button.setAttribute("aria-label", `Load test image ${digit.index}: a ${digit.label}, ${verdict}`);
    picture.width = picture.height = SIDE;
    picture.setAttribute("aria-hidden", "true");
    paintGray(picture.getContext("2d"), Uint8Array.from(atob(digit.pixels), (c) => c.charCodeAt(0)), SIDE, (v) => [v, v, v]);
    const caption = document.createElement("span");
    caption.textContent = digit.predicted === digit.label ? `${digit.label}` : `${digit.label}→${digit.predicted}`;
    button.append(picture, caption);
    button.addEventListener("click", () => loadDigit(digit));
    samples.append(button);
  });

  clearBoard();
  if (data.digits.length) loadDigit(data.digits[0]);
  api.canvasPNG = () => board.toDataURL("image/png");
  api.ready = true;
})();
