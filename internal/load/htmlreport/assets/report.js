/* surge's HTML report: draws the charts the embedded data describes (with
   uPlot), builds each chart's data table when it is opened, sorts tables,
   and sizes the charts for the window and for print. Everything it needs
   is in this file; it makes no request. */
(function () {
	"use strict";

	var data = JSON.parse(document.getElementById("surge-data").textContent);
	// Okabe and Ito's palette, which readers with any common colour vision
	// deficiency tell apart; yellow last, as it is faint on white.
	var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"];
	// Run A (or a run alone) is drawn solid, run B dashed; past the
	// palette's eight colours, lines are dotted too.
	var DASH = [null, [9, 5]];
	var FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
	var PRINT_WIDTH = 680;

	var report = { charts: {}, drawn: false, drawnAt: null, errors: [] };
	window.surgeReport = report;

	function color(i) { return PALETTE[i % PALETTE.length]; }

	function dashOf(s) {
		if (s.dash) { return DASH[1]; }
		if (s.color >= PALETTE.length) { return [2, 3]; }
		return null;
	}

	function msec(v) {
		var a = Math.abs(v);
		return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
	}

	function fmt(v, unit) {
		if (v == null || isNaN(v)) { return "–"; }
		if (unit === "ms") { return msec(v) + " ms"; }
		if (unit === "/s") { return v.toFixed(1) + "/s"; }
		return Number.isInteger(v) ? String(v) : v.toFixed(2);
	}

	// The percentile plot's x is 1/(1-q): shown with as many digits as its
	// nines need (1.334: 25%, 13.34: 92.5%, 1334: 99.925%).
	function pctOf(x) {
		var p = 100 * (1 - 1 / x);
		return parseFloat(p.toPrecision(3 + Math.max(0, Math.floor(Math.log10(x))))) + "%";
	}

	function fmtX(spec, v) {
		if (v == null) { return "–"; }
		switch (spec.kind) {
		case "time": return v.toFixed(v % 1 === 0 ? 0 : 1) + " s";
		case "curve": return pctOf(v);
		default: return spec.cats[Math.round(v)] || "";
		}
	}

	// hatch returns stripes of a colour, for the change's bars.
	function hatch(c) {
		var px = uPlot.pxRatio || 1;
		var cv = document.createElement("canvas");
		cv.width = cv.height = Math.round(8 * px);
		var g = cv.getContext("2d");
		g.fillStyle = "#ffffff";
		g.fillRect(0, 0, cv.width, cv.height);
		g.strokeStyle = c;
		g.lineWidth = 2.5 * px;
		g.beginPath();
		g.moveTo(0, cv.height);
		g.lineTo(cv.width, 0);
		g.moveTo(-cv.width / 2, cv.height / 2);
		g.lineTo(cv.width / 2, -cv.height / 2);
		g.moveTo(cv.width / 2, cv.height * 1.5);
		g.lineTo(cv.width * 1.5, cv.height / 2);
		g.stroke();
		return cv;
	}

	// Stage boundaries: a dashed vertical line each, numbered at the top.
	function drawMarks(u, marks) {
		if (!marks || !marks.length) { return; }
		var ctx = u.ctx, px = uPlot.pxRatio || 1, b = u.bbox;
		ctx.save();
		ctx.strokeStyle = "#444";
		ctx.fillStyle = "#222";
		ctx.lineWidth = px;
		ctx.font = Math.round(11 * px) + "px system-ui, sans-serif";
		marks.forEach(function (m) {
			var x = Math.round(u.valToPos(m.t, "x", true));
			if (x < b.left || x > b.left + b.width) { return; }
			ctx.setLineDash(m.dash ? [2 * px, 3 * px] : [5 * px, 4 * px]);
			ctx.beginPath();
			ctx.moveTo(x, b.top);
			ctx.lineTo(x, b.top + b.height);
			ctx.stroke();
			ctx.fillText(m.label, x + 3 * px, b.top + (m.dash ? 24 : 11) * px);
		});
		ctx.restore();
	}

	function axis(label, extra) {
		var a = {
			label: label, font: FONT, labelFont: FONT, stroke: "#333", size: 56, labelSize: 20,
			grid: { stroke: "#e4e4e4", width: 1 }, ticks: { stroke: "#bbb", width: 1 }
		};
		for (var k in extra) { a[k] = extra[k]; }
		return a;
	}

	function zeroBased(u, min, max) { return [0, max > 0 ? max * 1.08 : 1]; }

	function chartHeight(width) { return width < 520 ? 220 : 270; }

	// options builds uPlot's options and data for one chart spec.
	function options(spec, width) {
		var xs = spec.x ? data.xs[spec.x] : spec.cats.map(function (_, i) { return i; });
		var raw = spec.series.map(function (s) { return s.y; });
		var order = spec.series.map(function (_, i) { return i; });
		var ys = raw;
		if (spec.stack) {
			// Each bar is drawn from zero to the sum of its part and the
			// parts below it, the top part first, so the lower ones paint
			// over it; hover values and data tables show the parts.
			var run = xs.map(function () { return 0; });
			ys = raw.map(function (y) {
				return y.map(function (v, j) {
					if (v == null) { return null; }
					run[j] += v;
					return run[j];
				});
			});
			order.reverse();
		}
		var cats = spec.cats || [];
		var opts = {
			width: width, height: chartHeight(width),
			legend: { live: true },
			cursor: { drag: { x: spec.kind === "time", y: false }, points: { size: 7 } },
			scales: { x: { time: false }, y: { range: zeroBased } },
			axes: [],
			series: [{ label: spec.kind === "time" ? "time" : spec.kind === "curve" ? "percentile" : spec.xLabel || "category",
				value: function (u, v) { return fmtX(spec, v); } }],
			hooks: {
				draw: [function (u) { drawMarks(u, spec.marks); drawn(spec.id); }]
			}
		};
		if (spec.kind === "time") {
			opts.axes.push(axis(spec.xLabel, { size: 44, values: function (u, splits) {
				return splits.map(function (v) { return String(v); });
			} }));
		} else if (spec.kind === "curve") {
			var last = xs[xs.length - 1];
			opts.scales.x = { time: false, distr: 3, log: 10, range: function () { return [1, Math.max(last, 10)]; } };
			opts.axes.push(axis(spec.xLabel, { size: 44,
				splits: function (u, ai, min, max) {
					var out = [];
					for (var p = 1; p <= max * 1.0001; p *= 10) { if (p >= min / 1.0001) { out.push(p); } }
					return out;
				},
				values: function (u, splits) { return splits.map(function (v) { return pctOf(v); }); }
			}));
		} else {
			var longest = cats.reduce(function (m, c) { return Math.max(m, c.length); }, 0);
			var rotate = cats.length * (longest * 7 + 12) > width - 80;
			opts.scales.x = { time: false, range: function () { return [-0.5, cats.length - 0.5]; } };
			opts.axes.push(axis(spec.xLabel, {
				grid: { show: false }, rotate: rotate ? -35 : 0, size: rotate ? 24 + longest * 4.6 : 44,
				splits: function () { return cats.map(function (_, i) { return i; }); },
				values: function (u, splits) { return splits.map(function (i) { return cats[i] || ""; }); }
			}));
		}
		opts.axes.push(axis(spec.yLabel, { scale: "y" }));
		if (spec.series.some(function (s) { return s.axis === 1; })) {
			opts.scales.y2 = { range: zeroBased };
			opts.axes.push(axis(spec.y2Label, { scale: "y2", side: 1, grid: { show: false } }));
		}
		var rows = [xs];
		order.forEach(function (i) {
			var s = spec.series[i], c = color(s.color);
			var o = {
				label: s.label, stroke: c, width: 2, scale: s.axis === 1 ? "y2" : "y", spanGaps: true,
				value: (function (y) { return function (u, v, si, di) { return fmt(di == null ? v : y[di], s.unit); }; })(raw[i])
			};
			var dash = dashOf(s);
			if (dash) { o.dash = dash; }
			if (s.wide) {
				// A reference drawn broad and pale, under the lines it is
				// read against.
				o.width = 7;
				o.stroke = c + "59";
				o.points = { show: false };
			}
			if (spec.kind === "bars") {
				o.paths = uPlot.paths.bars({ size: [0.72, 72], align: 0 });
				o.width = 1;
				o.points = { show: false };
				o.fill = s.hatch ? (function (pat) {
					return function (u) { return u.ctx.createPattern(pat, "repeat"); };
				})(hatch(c)) : c;
				o.spanGaps = false;
			} else if (spec.kind === "cat") {
				o.points = { show: true, size: 8, fill: s.dash ? "#fff" : c };
			}
			opts.series.push(o);
			rows.push(ys[i]);
		});
		// Legend marks match the lines: hollow and dashed for run B,
		// striped for its bars.
		var legendSeries = function (si) { return spec.series[order[si - 1]]; };
		opts.legend.markers = {
			width: 2,
			dash: function (u, si) { var s = legendSeries(si); return s && s.dash ? "dashed" : "solid"; },
			fill: function (u, si) {
				var s = legendSeries(si);
				if (!s) { return null; }
				var c = color(s.color);
				if (s.hatch) { return "repeating-linear-gradient(135deg, " + c + " 0 2px, #fff 2px 5px)"; }
				if (s.wide) { return c + "59"; }
				return s.dash && spec.kind !== "bars" ? "#fff" : c;
			}
		};
		return { opts: opts, data: rows };
	}

	var pending = {};
	var total = 0;

	function drawn(id) {
		if (!pending[id]) { return; }
		delete pending[id];
		total--;
		if (total === 0) { done(); }
	}

	function done() {
		if (report.drawn) { return; }
		report.drawn = true;
		report.drawnAt = performance.now();
		document.documentElement.setAttribute("data-state", "drawn");
	}

	function plotWidth(fig) {
		var el = fig.querySelector(".plot");
		return Math.max(240, Math.floor(el.clientWidth));
	}

	data.charts.forEach(function (spec) {
		var fig = document.getElementById(spec.id);
		if (!fig) { return; }
		pending[spec.id] = true;
		total++;
		try {
			var o = options(spec, plotWidth(fig));
			report.charts[spec.id] = new uPlot(o.opts, o.data, fig.querySelector(".plot"));
		} catch (e) {
			report.errors.push(spec.id + ": " + e);
			console.error("surge report: chart " + spec.id + ": " + e);
			drawn(spec.id);
		}
		var details = fig.querySelector("details.data");
		details.addEventListener("toggle", function () {
			if (details.open && !details.querySelector("table")) { details.appendChild(dataTable(spec, fig)); }
		});
	});
	if (total === 0) { done(); }

	// dataTable lists a chart's figures: a row per horizontal value, a
	// column per series (stacked parts as themselves, not summed).
	function dataTable(spec, fig) {
		var xs = spec.x ? data.xs[spec.x] : spec.cats.map(function (_, i) { return i; });
		var wrap = document.createElement("div");
		wrap.className = "table-wrap";
		var t = document.createElement("table");
		var cap = t.createCaption();
		cap.textContent = fig.querySelector("figcaption .title").textContent;
		var head = t.createTHead().insertRow();
		function th(text, scope) {
			var c = document.createElement("th");
			c.scope = scope;
			c.textContent = text;
			return c;
		}
		head.appendChild(th(spec.kind === "time" ? "time (s)" : spec.kind === "curve" ? "percentile" : spec.xLabel || "category", "col"));
		spec.series.forEach(function (s) {
			head.appendChild(th(s.label + (s.unit === "ms" ? " (ms)" : s.unit === "/s" ? " (/s)" : ""), "col"));
		});
		var body = t.createTBody();
		xs.forEach(function (x, i) {
			if (!spec.series.some(function (s) { return s.y[i] != null; })) { return; }
			var r = body.insertRow();
			r.appendChild(th(spec.kind === "time" ? String(x) : fmtX(spec, x), "row"));
			spec.series.forEach(function (s) {
				var v = s.y[i];
				r.insertCell().textContent = v == null ? "–" : String(v);
			});
		});
		wrap.appendChild(t);
		return wrap;
	}

	// Charts follow their box's width, and print at the page's.
	var printing = false;
	function resize(width) {
		Object.keys(report.charts).forEach(function (id) {
			var u = report.charts[id];
			var w = width || plotWidth(document.getElementById(id));
			if (Math.abs(w - u.width) > 2) { u.setSize({ width: w, height: chartHeight(w) }); }
		});
	}
	if (window.ResizeObserver) {
		var timer = null;
		new ResizeObserver(function () {
			if (printing) { return; }
			clearTimeout(timer);
			timer = setTimeout(function () { resize(0); }, 60);
		}).observe(document.querySelector("main"));
	}
	window.addEventListener("beforeprint", function () { printing = true; resize(PRINT_WIDTH); });
	window.addEventListener("afterprint", function () { printing = false; resize(0); });

	// Sortable tables: a header's button sorts the row groups by that
	// column (a group's last row: the change row of a comparison), numbers
	// by value, and again the other way.
	Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
		Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, col) {
			var btn = cell.querySelector("button");
			if (!btn) { return; }
			btn.addEventListener("click", function () {
				var dir = cell.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
				Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
					if (c.hasAttribute("aria-sort")) { c.setAttribute("aria-sort", "none"); }
				});
				cell.setAttribute("aria-sort", dir);
				var sign = dir === "ascending" ? 1 : -1;
				var groups = Array.prototype.slice.call(table.tBodies);
				function key(g) {
					var k = g.querySelector("td.key");
					var row = k ? k.parentNode : g.rows[g.rows.length - 1];
					var c = row.cells[col];
					if (!c) { return { n: NaN, s: "" }; }
					return { n: c.hasAttribute("data-v") ? parseFloat(c.getAttribute("data-v")) : NaN, s: c.textContent };
				}
				groups.sort(function (a, b) {
					var ka = key(a), kb = key(b);
					var na = !isNaN(ka.n), nb = !isNaN(kb.n);
					if (na && nb) { return sign * (ka.n - kb.n); }
					if (na !== nb) { return na ? -1 : 1; }
					return sign * ka.s.localeCompare(kb.s);
				});
				var foot = table.tFoot;
				groups.forEach(function (g) { table.insertBefore(g, foot); });
			});
		});
	});
})();
