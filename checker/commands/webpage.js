// The drawing canvas of report.html: the run's own network reads the digit you draw.
// Self-contained, no network access: the weights and test digits come from the JSON block
// #kata-data that checker/webpage.py writes into the page.
//
// preprocess() is a port of checker/predict.py's to_mnist (with Pillow's Lanczos resize), so the
// page's 28x28 input is the one `kata predict drawing.png` would use; forward() is the reference
// forward pass of any depth: dense, ReLU, ..., dense, softmax.
"use strict";

(function () {
  const SIDE = 28, DIGIT_BOX = 20, INK = 0.1, TOP_UNITS = 6;
  const data = JSON.parse(document.getElementById("kata-data").textContent);
  const $ = (id) => document.getElementById(id);

  // --- the network ---------------------------------------------------------------------------

  function float32s(base64) {  // little-endian float32 array, whatever the machine's byte order
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

  const layers = data.network ? data.network.layers.map((layer) => ({
    inputs: layer.shape[0], outputs: layer.shape[1], W: float32s(layer.W), b: float32s(layer.b),
  })) : null;

  // Probabilities (C,) for one image (784,), and the first hidden layer's activations.
  function forward(pixels) {
    let a = Float64Array.from(pixels), firstHidden = null;
    layers.forEach((layer, index) => {
      const z = Float64Array.from(layer.b), n = layer.outputs, W = layer.W;
      for (let i = 0; i < layer.inputs; i++) {
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
    });
    let top = -Infinity, total = 0;
    for (const v of a) top = Math.max(top, v);
    const probs = a.map((v) => Math.exp(v - top));
    for (const p of probs) total += p;
    return { probs: Array.from(probs, (p) => p / total), hidden: firstHidden ? Array.from(firstHidden) : [] };
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

  function paintGray(context, pixels, side, colour) {  // a side x side image, one cell per value
    const picture = context.createImageData(side, side);
    for (let i = 0; i < side * side; i++) {
      const [r, g, b] = colour(pixels[i]);
      picture.data.set([r, g, b, 255], 4 * i);
    }
    context.putImageData(picture, 0, 0);
  }
  const grayscale = (v) => { const c = Math.round(Math.min(Math.max(v, 0), 1) * 255); return [c, c, c]; };

  function showPrediction(pixels, source) {
    const { probs, hidden } = forward(pixels);
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
    showHiddenUnits(hidden);
    if (api.firstPredictionMs === null) api.firstPredictionMs = performance.now();
  }

  function showHiddenUnits(hidden) {
    const order = hidden.map((v, j) => [v, j]).sort((p, q) => q[0] - p[0]).slice(0, TOP_UNITS);
    const list = $("units");
    list.replaceChildren();
    const W1 = layers[0].W, n = layers[0].outputs;
    let largest = 1e-12;
    for (const [, j] of order) for (let i = 0; i < SIDE * SIDE; i++) largest = Math.max(largest, Math.abs(W1[i * n + j]));
    for (const [value, j] of order) {
      const item = document.createElement("li"), picture = document.createElement("canvas");
      picture.width = picture.height = SIDE;
      picture.setAttribute("aria-hidden", "true");
      const weights = Array.from({ length: SIDE * SIDE }, (_, i) => W1[i * n + j] / largest);
      // Blue: the unit is excited by ink there; red: inhibited.
      paintGray(picture.getContext("2d"), weights, SIDE, (w) => {
        const t = Math.min(Math.abs(w), 1);
        return w >= 0 ? [255 * (1 - t), 255 * (1 - 0.6 * t), 255] : [255, 255 * (1 - 0.8 * t), 255 * (1 - 0.8 * t)];
      });
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
