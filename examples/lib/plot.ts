/**
 * Renders a loss curve as a small self-contained SVG document.
 *
 * @example
 * writeFileSync("loss.svg", lossPlotSvg([3.2, 2.9, 2.5]));
 */
export function lossPlotSvg(losses: readonly number[], title = "training loss"): string {
  const width = 640;
  const height = 360;
  const pad = { left: 56, right: 16, top: 32, bottom: 40 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const finite = losses.filter(Number.isFinite);
  const lo = finite.length > 0 ? Math.min(...finite) : 0;
  const hi = finite.length > 0 ? Math.max(...finite) : 1;
  const span = hi - lo || 1;
  const x = (i: number) => pad.left + (losses.length <= 1 ? 0 : (i / (losses.length - 1)) * w);
  const y = (v: number) => pad.top + h - ((v - lo) / span) * h;
  const points = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * span);
  const tickMarks = ticks
    .map(
      (t) =>
        `<line x1="${pad.left - 4}" x2="${pad.left + w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>` +
        `<text x="${pad.left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(2)}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>
${tickMarks}
<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${pad.top + h}" stroke="#333"/>
<line x1="${pad.left}" x2="${pad.left + w}" y1="${pad.top + h}" y2="${pad.top + h}" stroke="#333"/>
<text x="${pad.left + w / 2}" y="${height - 8}" text-anchor="middle">step (1–${losses.length})</text>
<polyline fill="none" stroke="#d95f02" stroke-width="2" points="${points}"/>
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}
