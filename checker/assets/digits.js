// The digit-reading core shared by report.html (checker/assets/page.js) and the notebook's canvas
// (checker/canvas.py): one copy of each piece, which checker/page.py inlines into the page before
// page.js, and the notebook widget puts in front of its own module. Nothing here touches the page.
//
// network(data) runs checker/models.py's forward pass in evaluation mode, of any depth: after the
// convolution layers of a CNN (checker/cnn.py: conv, max-pool, ReLU, for every 4-D W), dense, [batch
// normalisation with the running statistics], ReLU, ..., dense, softmax; data is what
// checker/page.py's network_data() writes. preprocess() is a port of checker/images.py's to_mnist
// (with Pillow's Lanczos resize) and pictureGray() of its read_image, so a 28x28 input made here is
// the one `kata predict my_digit.png` would use. drawingBoard() is the black square to draw on with
// pointer events (mouse, touch and pen alike).
"use strict";

const KataDigits = (function () {
  const SIDE = 28, DIGIT_BOX = 20, INK = 0.1, POOL = 2;  // checker/images.py's, checker/cnn.py's

  // --- the network ---------------------------------------------------------------------------

  function float32s(base64) {  // little-endian float32 array, whatever the machine's byte order
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }

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


  // A 4-D shape (F, C, KH, KW) is a convolution layer, a 2-D one (fan_in, fan_out) a dense layer;
  // a hidden dense layer of a network with batch normalisation has its gamma, beta and running statistics.
  // Returns {layers, convolutional, forward}, or null without a network.
  function network(data) {
    if (!data) return null;
    const eps = data.eps;
    const layers = data.layers.map((layer) => ({
      shape: layer.shape, conv: layer.shape.length === 4, W: float32s(layer.W), b: float32s(layer.b),
      norm: layer.batchnorm ? {
        gamma: float32s(layer.batchnorm.gamma), beta: float32s(layer.batchnorm.beta),
        mean: float32s(layer.batchnorm.running_mean), variance: float32s(layer.batchnorm.running_var),
      } : null,
    }));

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
          const norm = layer.norm;  // evaluation mode: a scale and shift per unit, from the running statistics
          if (norm) for (let j = 0; j < n; j++) z[j] = norm.gamma[j] * (z[j] - norm.mean[j]) / Math.sqrt(norm.variance[j] + eps) + norm.beta[j];
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

    return { layers, convolutional: layers[0].conv, forward };
  }

  // --- preprocessing: checker/images.py's to_mnist, step by step ----------------------------

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

  // MNIST's form of a grayscale picture (height x width, values in [0, 1]): {image (784,), notes,
  // span: the ink's larger side in the picture's pixels}, or null when no pixel stands out.
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
    const digitHeight = bottom - top + 1, digitWidth = right - left + 1;
    const span = Math.max(digitHeight, digitWidth);
    if (height === SIDE && width === SIDE) return { image: gray, notes, span };
    const digit = new Float32Array(digitHeight * digitWidth);
    for (let y = 0; y < digitHeight; y++) {
      for (let x = 0; x < digitWidth; x++) digit[y * digitWidth + x] = gray[(y + top) * width + x + left];
    }
    const scale = DIGIT_BOX / span;
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
    return { image, notes, span };
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

  // checker/images.py's read_image: transparent pixels count as white paper. Pillow's
  // alpha_composite over opaque white (libImaging/AlphaComposite.c, in its integer arithmetic),
  // then grayOf.
  function pictureGray(rgba) {
    const out = new Uint8ClampedArray(rgba.length);
    for (let i = 0; i < rgba.length; i += 4) {
      const alpha = rgba[i + 3];
      for (let c = 0; c < 3; c++) {
        if (alpha === 255) { out[i + c] = rgba[i + c]; continue; }
        if (alpha === 0) { out[i + c] = 255; continue; }
        const mixed = rgba[i + c] * alpha * 128 + 255 * (255 - alpha) * 128 + (0x80 << 7);
        out[i + c] = (((mixed >> 8) + mixed) >> 8) >> 7;
      }
    }
    return grayOf(out);
  }

  // --- the board: drawing with pointer events ------------------------------------------------

  // The black square on `board` (a canvas): white ink, a round pen of a 14th of its width, every
  // point of a fast stroke (the coalesced events). hooks.start() before a stroke's first dot,
  // hooks.change() once per frame while it draws, hooks.end() when it ends. Returns {clear, read}:
  // read() is the drawing in MNIST's form, preprocess()'s result (null when the board is empty).
  function drawingBoard(board, hooks = {}) {
    const ink = board.getContext("2d", { willReadFrequently: true });
    const penWidth = () => Math.round(board.width / 14);
    let stroke = null, pending = false;
    function clear() {
      ink.fillStyle = "#000";
      ink.fillRect(0, 0, board.width, board.height);
    }
    function point(event) {  // in canvas pixels, whatever size the canvas is shown at
      const box = board.getBoundingClientRect();
      return [(event.clientX - box.left - board.clientLeft) * board.width / board.clientWidth,
              (event.clientY - box.top - board.clientTop) * board.height / board.clientHeight];
    }
    function read() {
      const picture = ink.getImageData(0, 0, board.width, board.height);
      return preprocess(grayOf(picture.data), board.height, board.width);
    }
    function changed() { pending = false; if (hooks.change) hooks.change(); }
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(changed); } }
    board.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      board.setPointerCapture(event.pointerId);
      if (hooks.start) hooks.start();
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
    const endStroke = () => { if (stroke) { stroke = null; pending = false; if (hooks.end) hooks.end(); } };
    board.addEventListener("pointerup", endStroke);
    board.addEventListener("pointercancel", endStroke);
    return { clear, read, ink };
  }

  return { SIDE, float32s, network, preprocess, grayOf, pictureGray, drawingBoard };
})();
