// report.html's script: the run's own network reads the digit you draw or the picture you open,
// and the training curves are drawn from the run's metrics. Self-contained, no network access: the
// network, test digits, curves and colour maps come from the JSON block #kata-data that
// checker/page.py writes into the page. The network's forward pass, the preprocessing (a port of
// checker/images.py's to_mnist and read_image) and the drawing board are KataDigits
// (checker/assets/digits.js, inlined before this script), shared with the notebook's canvas.
"use strict";

(function () {
  const { SIDE, preprocess, grayOf, pictureGray } = KataDigits;
  const TOP_UNITS = 6;
  const data = JSON.parse(document.getElementById("kata-data").textContent);
  const $ = (id) => document.getElementById(id);
  const percent = (p) => `${(100 * p).toFixed(1)}%`;
  const lowerFirst = (words) => words.charAt(0).toLowerCase() + words.slice(1);

  // --- colours: the matplotlib colour maps of checker/plots.py, as lists of #rrggbb ------------------

  const palette = (stops) => stops.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  const weightStops = palette(data.colours.weights), mapStops = palette(data.colours.maps);
  const pick = (stops, t) => stops[Math.round(Math.min(Math.max(t, 0), 1) * (stops.length - 1))];
  const weightColour = (w) => pick(weightStops, (w + 1) / 2);  // w in [-1, 1]: blue, white at 0, red
  const mapColour = (v) => pick(mapStops, v);  // v in [0, 1]: black to bright
  const grayscale = (v) => { const c = Math.round(Math.min(Math.max(v, 0), 1) * 255); return [c, c, c]; };
  for (const ramp of document.querySelectorAll(".ramp")) {
    ramp.style.background = `linear-gradient(to right, ${data.colours.weights.join(", ")})`;
  }

  // --- the network ---------------------------------------------------------------------------

  const net = KataDigits.network(data.network);
  const layers = net ? net.layers : null;
  const convolutional = !!net && net.convolutional;
  const forward = net ? net.forward : null;

  // --- the page ------------------------------------------------------------------------------

  const api = {
    supported: !!layers, forward: layers ? forward : null, preprocess, grayOf, pictureGray,
    input: null, probs: null, predictions: 0, firstPredictionMs: null, readyMs: null, ready: false,
  };
  window.kataPage = api;
  setUpCharts();
  setUpViewer();
  if (!layers) { api.ready = true; api.readyMs = performance.now(); return; }

  // Drawing: KataDigits' board, read on every frame of a stroke and when it ends. A stroke on a
  // test digit or a picture starts afresh.
  const board = $("board");
  const drawing = KataDigits.drawingBoard(board, {
    start: () => { if (showing !== "drawing") { clearBoard(); show("drawing"); } },
    change: readDrawing,
    end: readDrawing,
  });
  const ink = drawing.ink, clearBoard = drawing.clear;
  const seen = $("seen").getContext("2d");
  const verdict = $("verdict");
  let showing = "nothing";  // what the board shows: "nothing", "drawing", "test digit" or "picture"

  function show(what) {
    showing = what;
    $("board-prompt").hidden = what !== "nothing";
  }

  function paint(context, values, width, colour, height = width) {  // one cell per value
    const picture = context.createImageData(width, height);
    for (let i = 0; i < width * height; i++) {
      const [r, g, b] = colour(values[i]);
      picture.data.set([r, g, b, 255], 4 * i);
    }
    context.putImageData(picture, 0, 0);
  }

  function resetReading(text, state) {
    seen.clearRect(0, 0, SIDE, SIDE);
    for (let digit = 0; digit < 10; digit++) {
      const row = $(`bar-${digit}`);
      row.classList.remove("best");
      row.querySelector(".fill").style.width = "0";
      row.querySelector(".value").textContent = "\u2013";
    }
    $("result").classList.remove("unsure");
    $("units").replaceChildren();
    $("units-none").hidden = true;
    verdict.textContent = text;
    verdict.dataset.state = state;
    delete verdict.dataset.digit;
  }

  // What the network makes of pixels (784,), and what the page says of it. tiny: the drawing is too
  // small to be read as a digit, whatever the network says.
  function showReading(pixels, source, tiny = false) {
    const { probs, hidden, maps } = forward(pixels);
    api.input = Array.from(pixels); api.probs = probs; api.predictions += 1;
    const best = probs.indexOf(Math.max(...probs));
    const sure = !tiny && probs[best] >= data.unsureBelow;
    paint(seen, pixels, SIDE, grayscale);
    probs.forEach((p, digit) => {
      const row = $(`bar-${digit}`);
      row.classList.toggle("best", sure && digit === best);
      row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".value").textContent = percent(p);
    });
    $("result").classList.toggle("unsure", !sure);
    if (tiny) {
      verdict.textContent = `Not sure: ${lowerFirst(source)} is too small to be read as a digit. Draw one digit, large, filling most of the square.`;
    } else if (!sure) {
      verdict.textContent = `Not sure what ${lowerFirst(source)} is: no digit gets even odds `
        + `(the most, ${percent(probs[best])}, goes to ${best}). It may not be a digit.`;
    } else {
      verdict.textContent = `${source}: the network reads ${best} (${percent(probs[best])} sure)`;
    }
    verdict.dataset.state = tiny ? "tiny" : sure ? "sure" : "unsure";
    if (sure) verdict.dataset.digit = String(best); else delete verdict.dataset.digit;
    if (convolutional) showFilters(maps); else showHiddenUnits(hidden);
    if (api.firstPredictionMs === null) api.firstPredictionMs = performance.now();
  }

  function label(...lines) {
    const span = document.createElement("span");
    lines.forEach((line, i) => { if (i) span.append(document.createElement("br")); span.append(line); });
    return span;
  }

  // A CNN: the first convolution layer's filters with the largest mean output, each as its weights
  // (channel 0: the image) and its pooled ReLU map of the digit, each on its own scale.
  function showFilters(maps) {
    const [F, H, Wd] = maps.shape, size = H * Wd, [, C, KH, KW] = layers[0].shape, W = layers[0].W;
    const means = Array.from({ length: F }, (_, f) => {
      let total = 0;
      for (let i = 0; i < size; i++) total += maps.values[f * size + i];
      return [total / size, f];
    });
    const order = means.sort((p, q) => q[0] - p[0]).slice(0, TOP_UNITS);
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
      paint(kernel.getContext("2d"), weights.map((w) => w / largest), KW, weightColour, KH);
      const values = maps.values.subarray(f * size, (f + 1) * size);
      const brightest = Math.max(1e-12, ...values);
      paint(map.getContext("2d"), values.map((v) => v / brightest), Wd, mapColour, H);
      pair.append(kernel, map);
      item.append(pair, label(`filter ${f + 1}`, `mean ${mean.toFixed(2)}`));
      list.append(item);
    }
    $("units-none").hidden = order.length > 0 && order[0][0] > 0;
  }

  // An MLP: the first hidden layer's units with the largest output, each as its weights (a 28x28
  // image on its own scale) and its output.
  function showHiddenUnits(hidden) {
    const order = hidden.map((v, j) => [v, j]).sort((p, q) => q[0] - p[0]).slice(0, TOP_UNITS);
    const list = $("units");
    list.replaceChildren();
    const W1 = layers[0].W, n = layers[0].shape[1];
    for (const [value, j] of order) {
      const item = document.createElement("li"), picture = document.createElement("canvas");
      picture.width = picture.height = SIDE;
      picture.setAttribute("aria-hidden", "true");
      const weights = Array.from({ length: SIDE * SIDE }, (_, i) => W1[i * n + j]);
      const largest = Math.max(1e-12, ...weights.map(Math.abs));
      paint(picture.getContext("2d"), weights.map((w) => w / largest), SIDE, weightColour);
      item.append(picture, label(`unit ${j}`, `output ${value.toFixed(2)}`));
      list.append(item);
    }
    $("units-none").hidden = order.length > 0 && order[0][0] > 0;
  }

  // The verdict and the bars in view (on a phone they are below the canvas and the test digits).
  const bringIntoView = () => $("result").scrollIntoView({ block: "nearest" });

  function readDrawing() {
    const result = drawing.read();
    if (!result) {
      resetReading("Not sure: the canvas is empty, there is nothing to read. Draw one digit, large, in the black square.", "empty");
      return;
    }
    showReading(result.image, "Your drawing", result.span < data.smallDrawing * Math.max(board.width, board.height));
  }
  api.readBoard = readDrawing;

  const EMPTY = verdict.textContent;
  $("clear").addEventListener("click", () => {
    clearBoard();
    show("nothing");
    resetReading(EMPTY, "empty");
  });

  // Test digits: fed to the network as they are (28x28 already), as `kata predict --index N` does.
  function loadDigit(digit) {
    const pixels = Uint8Array.from(atob(digit.pixels), (c) => c.charCodeAt(0));
    const image = Float32Array.from(pixels, (v) => v / 255);
    const small = document.createElement("canvas");
    small.width = small.height = SIDE;
    paint(small.getContext("2d"), image, SIDE, grayscale);
    clearBoard();
    ink.imageSmoothingEnabled = false;
    ink.drawImage(small, 0, 0, board.width, board.height);
    show("test digit");
    showReading(image, `Test image ${digit.index} (a ${digit.label})`);
    bringIntoView();
  }
  const samples = $("samples");
  data.digits.forEach((digit) => {
    const button = document.createElement("button"), picture = document.createElement("canvas");
    button.type = "button";
    button.className = digit.predicted === digit.label ? "sample" : "sample wrong";
    const read = digit.predicted === digit.label ? "read right" : `read as ${digit.predicted}`;
    button.setAttribute("aria-label", `Load test image ${digit.index}: a ${digit.label}, ${read}`);
    picture.width = picture.height = SIDE;
    picture.setAttribute("aria-hidden", "true");
    paint(picture.getContext("2d"), Uint8Array.from(atob(digit.pixels), (c) => c.charCodeAt(0)), SIDE, (v) => [v, v, v]);
    const caption = document.createElement("span");
    caption.textContent = digit.predicted === digit.label ? `${digit.label}` : `${digit.label}\u2192${digit.predicted}`;
    button.append(picture, caption);
    button.addEventListener("click", () => loadDigit(digit));
    samples.append(button);
  });

  // A picture file: decoded by the browser without colour management (Pillow applies none), its
  // EXIF orientation applied (as kata predict does), read as kata predict reads it.
  async function readPicture(file) {
    const name = file.name || "the picture";
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch (error) {
      resetReading(`Not sure: ${name} is not a picture this browser can read. Save the digit as a PNG or JPEG file and try again.`, "unreadable");
      return;
    }
    const { width, height } = bitmap;
    if (width * height > data.maxPixels) {
      bitmap.close();
      resetReading(`Not sure: ${name} is ${width}x${height} pixels, more than the ${Math.floor(data.maxPixels / 1e6)} million the page reads. `
        + "Scale it down (a digit needs a few hundred pixels a side) and try again.", "unreadable");
      return;
    }
    const canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const result = preprocess(pictureGray(context.getImageData(0, 0, width, height).data), height, width);
    clearBoard();  // the picture, fitted into the square on white paper, so that you see what was read
    const fit = Math.min(board.width / width, board.height / height), w = width * fit, h = height * fit;
    ink.fillStyle = "#fff";
    ink.fillRect((board.width - w) / 2, (board.height - h) / 2, w, h);
    ink.imageSmoothingEnabled = true;
    ink.drawImage(canvas, (board.width - w) / 2, (board.height - h) / 2, w, h);
    show("picture");
    if (!result) {
      resetReading(`Not sure: ${name} looks empty: no pixel stands out from the background. Draw a thick digit, dark on light or light on dark, and try again.`, "empty");
    } else {
      showReading(result.image, `Your picture (${name})`);
    }
    bringIntoView();
  }
  api.readPicture = readPicture;
  const fileInput = $("picture");
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    if (file) await readPicture(file);
    fileInput.value = "";  // the same file again is a new choice
  });
  board.addEventListener("dragover", (event) => { event.preventDefault(); });
  board.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) readPicture(file);
  });

  clearBoard();
  show("nothing");
  api.canvasPNG = () => board.toDataURL("image/png");
  api.ready = true;
  api.readyMs = performance.now();

  // --- the training curves (metrics.csv), as SVG at the width they are shown ----------------

  function setUpCharts() {
    const curves = data.curves;
    if (!curves || !$("chart-loss")) return;
    const colours = { train: "#1f77b4", validation: "#ff7f0e" };  // matplotlib's tab:blue and tab:orange, as in the PNGs
    const trainName = (what) => `training ${what}, mean of the last ${curves.window} batches`;
    const tail = (values) => values.slice(Math.floor(values.length / 10)).filter((v) => v !== null);
    const lowest = Math.min(...tail(curves.train.accuracy), ...tail(curves.validation.accuracy), 1);
    chart($("chart-loss"), $("chart-loss-key"), {
      title: "Loss", scale: "cross-entropy, log scale", log: true, format: (v) => v.toPrecision(3),
      series: [
        { name: trainName("loss"), colour: colours.train, at: curves.train.at, values: curves.train.loss },
        { name: "validation loss", colour: colours.validation, at: curves.validation.at, values: curves.validation.loss, dots: true },
      ],
    });
    chart($("chart-accuracy"), $("chart-accuracy-key"), {
      title: "Accuracy", scale: "the first iterations, from 10%, are below the axis", log: false,
      format: (v) => `${(100 * v).toFixed(2)}%`, low: Math.max(0, Math.floor((lowest - 0.01) * 50) / 50), high: 1,
      series: [
        { name: trainName("accuracy"), colour: colours.train, at: curves.train.at, values: curves.train.accuracy },
        { name: "validation accuracy", colour: colours.validation, at: curves.validation.at, values: curves.validation.accuracy, dots: true },
      ],
    });

    function niceStep(span, count) {
      const raw = span / Math.max(count, 1), power = 10 ** Math.floor(Math.log10(raw));
      return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw);
    }

    function chart(box, key, spec) {
      const NS = "http://www.w3.org/2000/svg";
      const element = (name, attributes, parent) => {
        const node = document.createElementNS(NS, name);
        for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
        if (parent) parent.append(node);
        return node;
      };
      const values = spec.series.flatMap((s) => s.values).filter((v) => v !== null && (!spec.log || v > 0));
      if (!values.length) { box.textContent = "No finite values to draw."; return; }
      let low = spec.low ?? Math.min(...values), high = spec.high ?? Math.max(...values);
      if (spec.log) { low = Math.log10(low / 1.15); high = Math.log10(high * 1.15); }
      if (high - low < 1e-9) { low -= 0.5; high += 0.5; }
      const last = curves.iterations, perEpoch = curves.perEpoch;
      const swatches = spec.series.map((s) => {  // a swatch never ends a line away from its words
        const [first, ...rest] = s.name.split(" ");
        return `<span class="entry"><span class="swatch${s.dots ? " dots" : ""}" style="background:${s.colour}"></span>${first}</span> ${rest.join(" ")}`;
      });
      key.innerHTML = `<strong>${spec.title}</strong> (${spec.scale}): ${swatches.join(" ")}`;
      const summary = spec.series.map((s) => {
        const finite = s.values.filter((v) => v !== null);
        return finite.length ? `${s.name} from ${spec.format(finite[0])} to ${spec.format(finite[finite.length - 1])}` : "";
      }).filter(Boolean).join("; ");
      box.setAttribute("role", "img");
      box.setAttribute("aria-label", `${spec.title} over ${last} iterations: ${summary}. Use the arrow keys to read the values.`);
      let cursor = null, drawn = 0, geometry = null;
      const tip = document.createElement("div");
      tip.className = "tip";
      tip.hidden = true;

      function render() {
        const width = Math.max(240, Math.round(box.clientWidth));
        if (width === drawn) return;
        drawn = width;
        const height = Math.round(Math.min(330, Math.max(230, width * 0.58)));
        const m = { left: 58, right: 16, top: 40, bottom: 46 };
        const plotW = width - m.left - m.right, plotH = height - m.top - m.bottom;
        const x = (i) => m.left + (i / last) * plotW;
        const yOf = (v) => (spec.log ? Math.log10(v) : v);
        const y = (v) => m.top + (1 - (yOf(v) - low) / (high - low)) * plotH;
        const svg = element("svg", { width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true" });
        const axes = element("g", { class: "axes" }, svg);
        // x: iterations below, epochs above, a faint line at every epoch's end
        const xStep = niceStep(last, plotW / 90);
        for (let i = 0; i <= last; i += xStep) {
          element("line", { x1: x(i), x2: x(i), y1: m.top + plotH, y2: m.top + plotH + 5 }, axes);
          element("text", { x: x(i), y: m.top + plotH + 18, "text-anchor": "middle" }, axes).textContent = String(i);
        }
        const epochs = last / perEpoch, eStep = niceStep(epochs, plotW / 70);
        for (let e = 0; e <= epochs + 1e-9; e += Math.max(eStep, 1)) {
          element("line", { x1: x(e * perEpoch), x2: x(e * perEpoch), y1: m.top - 5, y2: m.top }, axes);
          element("text", { x: x(e * perEpoch), y: m.top - 9, "text-anchor": "middle" }, axes).textContent = String(e);
        }
        if (epochs <= 60) {
          for (let e = 1; e * perEpoch < last; e++) element("line", { class: "epoch", x1: x(e * perEpoch), x2: x(e * perEpoch), y1: m.top, y2: m.top + plotH }, axes);
        }
        element("text", { x: m.left + plotW / 2, y: height - 6, "text-anchor": "middle", class: "label" }, axes).textContent = "iteration (one update per batch)";
        element("text", { x: m.left + plotW / 2, y: 12, "text-anchor": "middle", class: "label" }, axes).textContent = "epoch";
        // y: powers of ten and their 2 and 5 on a log scale, round steps otherwise
        const yTicks = [];
        if (spec.log) {
          for (let p = Math.floor(low); p <= Math.ceil(high); p++) {
            for (const mult of (high - low > 2.5 ? [1] : high - low > 1 ? [1, 2, 5] : [1, 1.5, 2, 3, 5, 7])) {
              const v = mult * 10 ** p;
              if (Math.log10(v) >= low && Math.log10(v) <= high) yTicks.push(v);
            }
          }
        } else {
          const step = niceStep(high - low, plotH / 45);
          for (let v = Math.ceil(low / step - 1e-9) * step; v <= high + 1e-9; v += step) yTicks.push(v);
        }
        for (const v of yTicks) {
          element("line", { class: "grid", x1: m.left, x2: m.left + plotW, y1: y(v), y2: y(v) }, axes);
          const text = spec.log ? String(+v.toPrecision(2)) : `${+(100 * v).toFixed(1)}%`;
          element("text", { x: m.left - 7, y: y(v) + 4, "text-anchor": "end" }, axes).textContent = text;
        }
        element("rect", { class: "frame", x: m.left, y: m.top, width: plotW, height: plotH }, axes);
        const label = element("text", { class: "label", "text-anchor": "middle", transform: `translate(14 ${m.top + plotH / 2}) rotate(-90)` }, axes);
        label.textContent = spec.title.toLowerCase();
        // the curves, clipped to the plot
        const clip = `clip-${box.id}`;
        element("rect", { x: m.left, y: m.top, width: plotW, height: plotH }, element("clipPath", { id: clip }, element("defs", {}, svg)));
        const lines = element("g", { "clip-path": `url(#${clip})` }, svg), dots = element("g", {}, svg);
        for (const s of spec.series) {
          let path = "", pen = "M";
          s.at.forEach((i, k) => {
            const v = s.values[k];
            if (v === null || (spec.log && v <= 0)) { pen = "M"; return; }
            path += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
            pen = "L";
          });
          element("path", { d: path, fill: "none", stroke: s.colour, "stroke-width": s.dots ? 1.6 : 2 }, lines);
          if (s.dots && s.at.length <= 200) {
            s.at.forEach((i, k) => {
              if (s.values[k] !== null) element("circle", { cx: x(i), cy: y(s.values[k]), r: 2.6, fill: s.colour }, dots);
            });
          }
        }
        const marks = element("g", { class: "cursor" }, svg);
        geometry = { x, y, marks, m, plotW, plotH, width };
        box.replaceChildren(svg, tip);
        if (cursor !== null) point(cursor);
      }

      function nearest(at, i) {  // index of the entry of at (increasing) closest to i
        let lo = 0, hi = at.length - 1;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (at[mid] < i) lo = mid + 1; else hi = mid; }
        return lo > 0 && i - at[lo - 1] < at[lo] - i ? lo - 1 : lo;
      }

      function point(i) {  // show the values at iteration i
        cursor = Math.min(Math.max(Math.round(i), 1), last);
        const { x, y, marks, m, plotH, width } = geometry;
        marks.replaceChildren();
        element("line", { x1: x(cursor), x2: x(cursor), y1: m.top, y2: m.top + plotH }, marks);
        const lines = [`iteration ${cursor} (epoch ${(cursor / perEpoch).toFixed(2)})`];
        for (const s of spec.series) {
          if (!s.at.length) continue;
          const k = nearest(s.at, cursor), v = s.values[k];
          if (v === null) continue;
          element("circle", { cx: x(s.at[k]), cy: y(v), r: 4.5, fill: s.colour }, marks);
          lines.push(`<span class="swatch" style="background:${s.colour}"></span>${s.name.split(",")[0]}: `
            + `<b>${spec.format(v)}</b>${s.at[k] === cursor ? "" : ` (at ${s.at[k]})`}`);
        }
        tip.innerHTML = lines.join("<br>");
        tip.hidden = false;
        const left = x(cursor) + 12, room = width - tip.offsetWidth - 4;
        tip.style.left = `${Math.max(4, left > room ? x(cursor) - tip.offsetWidth - 12 : left)}px`;
        tip.style.top = `${m.top + 4}px`;
      }

      box.addEventListener("pointermove", (event) => {
        if (!geometry) return;
        const { m, plotW } = geometry, at = event.clientX - box.getBoundingClientRect().left;
        if (at < m.left || at > m.left + plotW) return;
        point(((at - m.left) / plotW) * last);
      });
      box.addEventListener("pointerleave", () => { cursor = null; tip.hidden = true; if (geometry) geometry.marks.replaceChildren(); });
      box.addEventListener("keydown", (event) => {
        const stepBy = Math.max(1, Math.round(last / 50));
        const moves = { ArrowRight: stepBy, ArrowLeft: -stepBy, End: last, Home: -last };
        if (!(event.key in moves)) return;
        event.preventDefault();
        point((cursor ?? 0) + moves[event.key]);
      });
      box.addEventListener("blur", () => { cursor = null; tip.hidden = true; if (geometry) geometry.marks.replaceChildren(); });
      render();
      new ResizeObserver(render).observe(box);
    }
  }

  // --- figures, full size ----------------------------------------------------------------------

  function setUpViewer() {
    const viewer = $("viewer");
    if (!viewer) return;
    const image = $("viewer-image");
    for (const button of document.querySelectorAll("button.zoom")) {
      button.addEventListener("click", () => {
        const figure = button.querySelector("img");
        image.src = figure.src;
        image.alt = figure.alt;
        $("viewer-name").textContent = button.closest("figure").querySelector("figcaption code").textContent;
        viewer.showModal();
        viewer.querySelector(".viewer-body").scrollTo(0, 0);
      });
    }
    $("viewer-close").addEventListener("click", () => viewer.close());
    viewer.addEventListener("click", (event) => { if (event.target === viewer) viewer.close(); });
  }
})();
