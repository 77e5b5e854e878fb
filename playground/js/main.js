// The playground: connect, pick two photos, swap (create, upload to S3, start, follow), show the result or why it
// failed, delete, and list recent jobs. No framework: the page is small and every element is in index.html.

import { Api, ApiError, UploadError, normaliseApiUrl, uploadPhoto } from "./api.js";
import { formatBytes, formatSeconds, formatTime, secondsBetween, shortId } from "./format.js";
import { checkPhoto } from "./images.js";
import { apiErrorSentence, jobErrorSentence } from "./messages.js";
import { sha256Hex } from "./digest.js";

const ROLES = ["target", "template"];
const TERMINAL = new Set(["succeeded", "failed"]);
const FOLLOW_LIMIT_SECONDS = 15 * 60;
const STORED_URL = "faceswap-playground.api-url";
const STORED_TOKEN = "faceswap-playground.token"; // session storage only: a pasted JWT is not kept past the tab

const $ = (id) => document.getElementById(id);

const state = {
  api: null,
  photos: { target: null, template: null }, // role -> {file, contentType, previewUrl}
  targets: new Map(), // job id -> object URL of the target photo, for the before/after comparison
  shownJobId: null,
  resultUrl: null,
  following: 0, // bumped to stop an older follow loop
};

function show(id, visible) {
  $(id).hidden = !visible;
}

function notice(text) {
  $("notice").textContent = text;
}

// connection ---------------------------------------------------------------------------------------------------

async function localConfig() {
  try {
    const response = await fetch("local/playground-config.json", { cache: "no-store" });
    if (!response.ok) return null;
    const config = await response.json();
    return config.apiUrl && config.token ? config : null;
  } catch {
    return null;
  }
}

async function connect(api, how) {
  $("connection-error").textContent = "";
  $("connection-summary").textContent = `Connecting to ${api.baseUrl}…`;
  try {
    await api.checkSignIn();
  } catch (error) {
    state.api = null;
    const sentence = error instanceof ApiError ? apiErrorSentence(error, api.baseUrl) : String(error);
    $("connection-summary").textContent = "Not signed in.";
    $("connection-error").textContent = sentence;
    $("api-url").value = api.baseUrl;
    show("connection", true);
    updateSwapButton();
    return false;
  }
  state.api = api;
  $("connection-summary").textContent = `Signed in to ${api.baseUrl} (${how}).`;
  show("connection", how !== "local token");
  updateSwapButton();
  loadRecent();
  return true;
}

async function startConnection() {
  $("page-origin").textContent = window.location.origin;
  const config = await localConfig();
  if (config) {
    await connect(new Api(config.apiUrl, config.token), "local token");
    return;
  }
  const url = localStorage.getItem(STORED_URL) || "";
  const token = sessionStorage.getItem(STORED_TOKEN) || "";
  $("api-url").value = url;
  if (url && token) {
    await connect(new Api(url, token), "pasted token");
  } else {
    $("connection-summary").textContent = "Not signed in: paste an API URL and a token.";
    show("connection", true);
  }
}

async function onConnectSubmit(event) {
  event.preventDefault();
  const url = normaliseApiUrl($("api-url").value);
  const token = $("api-token").value.trim();
  if (!/^https?:\/\//.test(url)) {
    $("connection-error").textContent = "The API URL must start with http:// or https://.";
    return;
  }
  if (await connect(new Api(url, token), "pasted token")) {
    localStorage.setItem(STORED_URL, url);
    sessionStorage.setItem(STORED_TOKEN, token);
  }
}

// photos -------------------------------------------------------------------------------------------------------

async function choosePhoto(role, file) {
  const previous = state.photos[role];
  if (previous) URL.revokeObjectURL(previous.previewUrl);
  state.photos[role] = null;
  const preview = $(`${role}-preview`);
  preview.hidden = true;
  preview.removeAttribute("src");
  $(`${role}-error`).textContent = "";
  $(`${role}-info`).textContent = file ? `Checking ${file.name}…` : "";
  updateSwapButton();
  if (!file) return;
  const check = await checkPhoto(file, role);
  if (!check.ok) {
    $(`${role}-info`).textContent = "";
    $(`${role}-error`).textContent = check.sentence;
    return;
  }
  const previewUrl = URL.createObjectURL(file);
  state.photos[role] = { file, contentType: check.contentType, previewUrl };
  preview.src = previewUrl;
  preview.hidden = false;
  const kind = check.contentType === "image/png" ? "PNG" : "JPEG";
  $(`${role}-info`).textContent = `${file.name}: ${kind}, ${check.width} × ${check.height} px, ${formatBytes(check.size)}`;
  updateSwapButton();
}

function wirePicker(role) {
  const input = $(`${role}-file`);
  input.addEventListener("change", () => choosePhoto(role, input.files[0] || null));
  const zone = document.querySelector(`.drop[data-role="${role}"]`);
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer?.files?.[0];
    if (file) choosePhoto(role, file);
  });
}

function updateSwapButton() {
  $("swap-button").disabled = !(state.api && state.photos.target && state.photos.template);
}

// progress -----------------------------------------------------------------------------------------------------

function step(key, text, stateName = "done") {
  let item = document.querySelector(`#steps li[data-step="${key}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.step = key;
    $("steps").append(item);
  }
  item.dataset.state = stateName;
  item.textContent = text;
}

function showStatus(job) {
  $("job-id").textContent = job.job_id;
  $("job-status").textContent = job.status;
  $("job-status").dataset.status = job.status;
}

function serverSteps(job) {
  const after = (iso) => formatSeconds(secondsBetween(job.created_at, iso));
  if (job.queued_at) step("queued", `Queued after ${after(job.queued_at)}`);
  if (job.submitted_at) step("submitted", `Sent to the face-swap provider after ${after(job.submitted_at)}`);
  if (job.completed_at) {
    step("finished", `${job.status === "succeeded" ? "Finished" : "Failed"} after ${after(job.completed_at)}`,
      job.status === "succeeded" ? "done" : "failed");
  }
}

function timingsText(job) {
  const parts = [];
  const after = (iso) => formatSeconds(secondsBetween(job.created_at, iso));
  if (job.queued_at) parts.push(`queued after ${after(job.queued_at)}`);
  if (job.submitted_at) parts.push(`sent to the provider after ${after(job.submitted_at)}`);
  if (job.completed_at) parts.push(`done after ${after(job.completed_at)}`);
  parts.push(`${job.polls} provider ${job.polls === 1 ? "poll" : "polls"}`);
  return `Created ${formatTime(job.created_at)}; ${parts.join(", ")}.`;
}

async function timed(work) {
  const started = performance.now();
  const value = await work();
  return [value, (performance.now() - started) / 1000];
}

function resetViews() {
  for (const id of ["result", "failure"]) show(id, false);
  notice("");
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = null;
  state.shownJobId = null;
}

async function swap() {
  const api = state.api;
  const photos = { ...state.photos };
  $("swap-button").disabled = true;
  resetViews();
  $("steps").replaceChildren();
  $("poll-line").textContent = "";
  show("progress", true);
  $("job-id").textContent = "";
  $("job-status").textContent = "creating";
  try {
    step("create", "Creating the job…", "active");
    const [job, createSeconds] = await timed(() =>
      api.createSwap(photos.target.contentType, photos.template.contentType),
    );
    showStatus(job);
    step("create", `Job created in ${formatSeconds(createSeconds)}`);
    state.targets.set(job.job_id, URL.createObjectURL(photos.target.file));
    await Promise.all(
      ROLES.map(async (role) => {
        step(`upload-${role}`, `Uploading the ${role} photo to storage…`, "active");
        const [, seconds] = await timed(() => uploadPhoto(job.uploads[role], photos[role].file, role));
        step(`upload-${role}`, `Uploaded the ${role} photo (${formatBytes(photos[role].file.size)}) in ${formatSeconds(seconds)}`);
      }),
    );
    const started = await api.startSwap(job.job_id);
    step("start", "Started");
    showStatus(started);
    await follow(job.job_id);
  } catch (error) {
    step("error", "Stopped", "failed");
    $("job-status").textContent = "not started";
    if (error instanceof UploadError) notice(error.message);
    else if (error instanceof ApiError) notice(apiErrorSentence(error, api.baseUrl));
    else notice(`Something went wrong in the page: ${error}`);
  } finally {
    updateSwapButton();
    loadRecent();
  }
}

async function follow(jobId) {
  const run = ++state.following;
  const api = state.api;
  const begun = performance.now();
  let checks = 0;
  for (;;) {
    const job = await api.getSwap(jobId);
    checks += 1;
    if (run !== state.following) return; // another job was opened meanwhile
    showStatus(job);
    serverSteps(job);
    const elapsed = (performance.now() - begun) / 1000;
    $("poll-line").textContent =
      `Checked ${checks} ${checks === 1 ? "time" : "times"} in ${formatSeconds(elapsed)}; ` +
      `the service has polled the provider ${job.polls} ${job.polls === 1 ? "time" : "times"}.`;
    if (TERMINAL.has(job.status)) {
      await showJob(job);
      return;
    }
    if (elapsed > FOLLOW_LIMIT_SECONDS) {
      notice(`The job is still ${job.status} after ${formatSeconds(elapsed)}; open it again from the list later.`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, checks < 6 ? 500 : checks < 30 ? 1000 : 2000));
  }
}

// result -------------------------------------------------------------------------------------------------------

async function showJob(job) {
  resetViews();
  state.shownJobId = job.job_id;
  if (job.status === "failed") showFailure(job);
  else if (job.status === "succeeded") await showResult(job);
}

function showFailure(job) {
  $("failure-sentence").textContent = jobErrorSentence(job.error);
  $("failure-code").textContent = job.error?.code || "UNKNOWN";
  $("failure-message").textContent = job.error?.message || "";
  show("failure", true);
}

function provenanceText(provenance) {
  if (!provenance) return "The result carries no AI-generation labels.";
  const marks = [
    ["C2PA content credentials", provenance.c2pa],
    ["XMP metadata", provenance.xmp],
    ["invisible watermark", provenance.watermark],
  ];
  const present = marks.filter(([, on]) => on).map(([name]) => name);
  const missing = marks.filter(([, on]) => !on).map(([name]) => name);
  let text = present.length ? `Labelled as AI-generated: ${present.join(", ")}` : "No AI-generation labels";
  if (present.length && missing.length) text += ` (no ${missing.join(", no ")})`;
  text += ".";
  if (provenance.digital_source_type) text += ` Digital source type: ${provenance.digital_source_type}.`;
  return text;
}

async function showResult(job) {
  const result = job.result;
  let bytes;
  try {
    const response = await fetch(result.url, { cache: "no-store" });
    if (!response.ok) throw new Error(`storage answered ${response.status}`);
    bytes = await response.arrayBuffer();
  } catch (error) {
    notice(
      `The result could not be downloaded from storage (${error.message}); the bucket may not allow this page's ` +
        `address (${window.location.origin}) in CorsAllowedOrigins.`,
    );
    return;
  }
  const blob = new Blob([bytes], { type: result.content_type });
  state.resultUrl = URL.createObjectURL(blob);
  const digest = await sha256Hex(bytes);
  const matches = digest === result.sha256;

  const target = state.targets.get(job.job_id);
  $("after-image").src = state.resultUrl;
  $("before-image").hidden = !target;
  if (target) $("before-image").src = target;
  $("compare").classList.toggle("single", !target);
  show("compare-slider", Boolean(target));
  $("compare-slider").previousElementSibling.hidden = !target;
  $("compare-note").textContent = target ? "" : "The before photo is only shown for swaps made in this tab.";
  show("compare-note", !target);

  $("result-size").textContent = `${formatBytes(bytes.byteLength)} (${bytes.byteLength} bytes), ${result.content_type}`;
  $("result-sha").textContent = digest || result.sha256;
  const check = $("result-sha-check");
  if (!digest) {
    check.textContent = "(not checked: this browser offers no crypto.subtle here)";
    check.className = "muted";
  } else {
    check.textContent = matches ? "✓ matches the job" : `✗ does not match the job's ${result.sha256}`;
    check.className = matches ? "ok" : "error";
  }
  const hasProvenance = Object.hasOwn(job, "provenance");
  show("provenance-term", hasProvenance);
  show("provenance", hasProvenance);
  if (hasProvenance) $("provenance").textContent = provenanceText(job.provenance);
  $("result-timings").textContent = timingsText(job);

  const link = $("download-link");
  link.href = state.resultUrl;
  link.download = `faceswap-${job.job_id}.${result.content_type === "image/png" ? "png" : "jpg"}`;
  // A result whose bytes differ from what the job recorded is not offered for download.
  const refused = digest !== "" && !matches;
  link.classList.toggle("disabled", refused);
  if (refused) {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
  } else {
    link.removeAttribute("aria-disabled");
  }
  show("result", true);
}

async function deleteShownJob() {
  const jobId = state.shownJobId;
  if (!jobId) return;
  try {
    await state.api.deleteSwap(jobId);
  } catch (error) {
    notice(apiErrorSentence(error, state.api.baseUrl));
    return;
  }
  resetViews();
  show("progress", false);
  const target = state.targets.get(jobId);
  if (target) URL.revokeObjectURL(target);
  state.targets.delete(jobId);
  notice(`Deleted job ${jobId}: its photos and its result are gone from storage.`);
  loadRecent();
}

// recent jobs --------------------------------------------------------------------------------------------------

async function loadRecent() {
  const api = state.api;
  if (!api) return;
  let listing;
  try {
    listing = await api.listSwaps(10);
  } catch {
    show("recent", false); // no listing on this API (404/405) or not now: the section simply stays away
    return;
  }
  const items = Array.isArray(listing?.items) ? listing.items : [];
  const list = $("recent-list");
  list.replaceChildren(
    ...items.map((job) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.jobId = job.job_id;
      const failure = job.status === "failed" && job.error ? ` (${job.error.code})` : "";
      button.textContent = `${job.status}${failure} · ${formatTime(job.created_at)} · ${shortId(job.job_id)}`;
      button.setAttribute("aria-label", `Open job ${job.job_id}, ${job.status}${failure}`);
      button.addEventListener("click", () => openJob(job.job_id));
      item.append(button);
      return item;
    }),
  );
  if (!items.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "No jobs yet.";
    list.append(empty);
  }
  show("recent", true);
}

async function openJob(jobId) {
  state.following += 1;
  resetViews();
  try {
    const job = await state.api.getSwap(jobId);
    $("steps").replaceChildren();
    $("poll-line").textContent = "";
    showStatus(job);
    serverSteps(job);
    show("progress", true);
    if (TERMINAL.has(job.status)) await showJob(job);
    else await follow(jobId);
  } catch (error) {
    notice(error instanceof ApiError ? apiErrorSentence(error, state.api.baseUrl) : String(error));
  }
}

// start --------------------------------------------------------------------------------------------------------

function main() {
  ROLES.forEach(wirePicker);
  $("connection-form").addEventListener("submit", onConnectSubmit);
  $("swap-button").addEventListener("click", swap);
  $("delete-button").addEventListener("click", deleteShownJob);
  $("failure-delete").addEventListener("click", deleteShownJob);
  $("recent-refresh").addEventListener("click", loadRecent);
  $("compare-slider").addEventListener("input", (event) => {
    $("compare").style.setProperty("--split", `${event.target.value}%`);
  });
  // Dropping a file outside a drop zone must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  startConnection();
}

main();
