// The notebook's draw-a-digit canvas (checker/canvas.py, an anywidget): KataDigits (digits.js, put in
// front of this module) reads the drawing on every stroke with the run's network, as report.html
// does, and at the end of each stroke the 28x28 image goes to the kernel, where the learner's own
// forward functions read it (checker/live_forward.py); their answer comes back as the "kernel" value.

function percent(p) { return `${(100 * p).toFixed(1)}%`; }

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const net = KataDigits.network(model.get("network"));
  const SIDE = KataDigits.SIDE;
  const root = element("div", "kata-canvas");
  const about = element("p", "kata-about", model.get("about"));
  const left = element("div", "kata-left"), right = element("div", "kata-right");
  const board = element("canvas", "kata-board");
  board.width = board.height = 280;
  board.setAttribute("role", "img");
  board.setAttribute("aria-label", "Drawing area: draw one digit with the mouse, a finger or a pen");
  const clear = element("button", "kata-clear", "Clear");
  clear.type = "button";
  left.append(board, clear);
  const verdict = element("p", "kata-verdict", "Draw one digit, large, in the black square.");
  verdict.setAttribute("role", "status");
  verdict.setAttribute("aria-live", "polite");
  verdict.dataset.state = "empty";
  const reading = element("div", "kata-reading");
  const seenWrap = element("div", "kata-seen-wrap");
  const seen = element("canvas", "kata-seen");
  seen.width = seen.height = SIDE;
  seenWrap.append(seen, element("small", "", "what the network sees (28x28)"));
  const bars = element("ol", "kata-bars");
  const rows = [];
  for (let digit = 0; digit < 10; digit++) {
    const row = element("li"), track = element("span", "kata-track"), fill = element("span", "kata-fill");
    track.append(fill);
    const value = element("span", "kata-value", "\u2013");
    row.append(element("span", "kata-digit", String(digit)), track, value);
    bars.append(row);
    rows.push({ row, fill, value });
  }
  reading.append(seenWrap, bars);
  const kernel = element("p", "kata-kernel", model.get("kernel_note"));
  kernel.dataset.state = "idle";
  right.append(verdict, reading, kernel);
  root.append(about, left, right);
  el.append(root);

  let sent = 0;  // the number of the last image sent to the kernel
  const drawing = KataDigits.drawingBoard(board, { change: read, end: () => { const result = read(); send(result); } });
  drawing.clear();

  function showProbs(probs, best, sure) {
    rows.forEach(({ row, fill, value }, digit) => {
      row.classList.toggle("kata-best", sure && digit === best);
      fill.style.width = probs ? `${(100 * probs[digit]).toFixed(1)}%` : "0";
      value.textContent = probs ? percent(probs[digit]) : "\u2013";
    });
  }

  function read() {
    const result = drawing.read();
    const context = seen.getContext("2d");
    if (!result) {
      context.clearRect(0, 0, SIDE, SIDE);
      showProbs(null, -1, false);
      verdict.textContent = "Not sure: the canvas is empty, there is nothing to read. Draw one digit, large, in the black square.";
      verdict.dataset.state = "empty";
      delete verdict.dataset.digit;
      return null;
    }
    const picture = context.createImageData(SIDE, SIDE);
    result.image.forEach((v, i) => {
      const c = Math.round(Math.min(Math.max(v, 0), 1) * 255);
      picture.data.set([c, c, c, 255], 4 * i);
    });
    context.putImageData(picture, 0, 0);
    const probs = net.forward(result.image).probs;
    const best = probs.indexOf(Math.max(...probs));
    const tiny = result.span < model.get("small_drawing") * board.width;
    const sure = !tiny && probs[best] >= model.get("unsure_below");
    showProbs(probs, best, sure);
    if (tiny) {
      verdict.textContent = "Not sure: your drawing is too small to be read as a digit. Draw one digit, large, filling most of the square.";
    } else if (!sure) {
      verdict.textContent = `Not sure what your drawing is: no digit gets even odds (the most, ${percent(probs[best])}, goes to ${best}). It may not be a digit.`;
    } else {
      verdict.textContent = `Your drawing: the network reads ${best} (${percent(probs[best])} sure)`;
    }
    verdict.dataset.state = tiny ? "tiny" : sure ? "sure" : "unsure";
    if (sure) verdict.dataset.digit = String(best); else delete verdict.dataset.digit;
    root.dataset.probs = JSON.stringify(probs);
    return result;
  }

  function send(result) {
    if (!result || !model.get("kernel_on")) return;
    sent += 1;
    kernel.textContent = "Your forward functions in the kernel are reading it...";
    kernel.dataset.state = "waiting";
    model.set("image", { number: sent, pixels: Array.from(result.image) });
    model.save_changes();
  }

  function showKernel() {
    const answer = model.get("kernel");
    if (!answer || answer.number !== sent) return;  // the answer to an older drawing
    kernel.textContent = answer.text;
    kernel.dataset.state = answer.state;
    if (answer.digit === null || answer.digit === undefined) delete kernel.dataset.digit;
    else kernel.dataset.digit = String(answer.digit);
  }
  model.on("change:kernel", showKernel);

  clear.addEventListener("click", () => {
    drawing.clear();
    seen.getContext("2d").clearRect(0, 0, SIDE, SIDE);
    showProbs(null, -1, false);
    verdict.textContent = "Draw one digit, large, in the black square.";
    verdict.dataset.state = "empty";
    delete verdict.dataset.digit;
    kernel.textContent = model.get("kernel_note");
    kernel.dataset.state = "idle";
    sent += 1;  // an answer still on its way belongs to the cleared drawing
  });
  return () => model.off("change:kernel", showKernel);
}

export default { render };
