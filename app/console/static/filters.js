// The board's view settings live in its URL (?severity=critical,high&squad=ops&environment=production
// &resolved=0&wall=1), so a reload, a bookmark or a wall screen's start page keeps them.

import { SEVERITIES } from "./board-model.js";

function listOf(value) {
  const items = (value ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");
  return items.length > 0 ? items : null;
}

export function filterFromUrl(url) {
  const params = new URL(url).searchParams;
  const severities = listOf(params.get("severity"))?.filter((s) => SEVERITIES.includes(s)) ?? SEVERITIES;
  const squads = listOf(params.get("squad"));
  const environments = listOf(params.get("environment"));
  return {
    severities: new Set(severities),
    squads: squads === null ? null : new Set(squads),
    environments: environments === null ? null : new Set(environments),
    showResolved: params.get("resolved") !== "0",
  };
}

export function isWall(url) {
  const wall = new URL(url).searchParams.get("wall");
  return wall !== null && wall !== "0";
}

/** `url` with the filter (and wall mode) in its query; what is the default is left out. */
export function urlWith(url, filter, wall) {
  const target = new URL(url);
  const params = new URLSearchParams();
  if (filter.severities.size < SEVERITIES.length) params.set("severity", SEVERITIES.filter((s) => filter.severities.has(s)).join(","));
  if (filter.squads !== null) params.set("squad", [...filter.squads].join(","));
  if (filter.environments !== null) params.set("environment", [...filter.environments].join(","));
  if (!filter.showResolved) params.set("resolved", "0");
  if (wall) params.set("wall", "1");
  target.search = params.toString();
  return target.toString();
}

export function isNarrowed(filter) {
  return filter.severities.size < SEVERITIES.length || filter.squads !== null || filter.environments !== null || !filter.showResolved;
}

/** The filter the form shows. */
export function filterFromForm(form) {
  const checked = [...form.querySelectorAll("input[name=severity]:checked")].map((input) => input.value);
  const squads = listOf(form.elements.squad.value);
  const environments = listOf(form.elements.environment.value);
  return {
    severities: new Set(checked),
    squads: squads === null ? null : new Set(squads),
    environments: environments === null ? null : new Set(environments),
    showResolved: form.elements.resolved.checked,
  };
}

export function showFilterInForm(form, filter) {
  for (const input of form.querySelectorAll("input[name=severity]")) input.checked = filter.severities.has(input.value);
  form.elements.squad.value = filter.squads === null ? "" : [...filter.squads].join(", ");
  form.elements.environment.value = filter.environments === null ? "" : [...filter.environments].join(", ");
  form.elements.resolved.checked = filter.showResolved;
}
