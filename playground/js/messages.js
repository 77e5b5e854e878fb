// Plain sentences for every code a person may meet here: job error codes (why a swap failed) and API error codes.

const ROLE_WORDS = { target: "target", template: "template" };

// One sentence per job error code (docs/architecture.md "Job error codes"), written for the person at the page.
export const JOB_ERROR_SENTENCES = {
  IMAGE_MISSING: "One of the photos never arrived in storage, so the swap could not start; please try again.",
  IMAGE_EMPTY: "One of the photos is an empty file.",
  IMAGE_TOO_LARGE: "One of the photos is larger than 5 MiB.",
  UNSUPPORTED_IMAGE_TYPE: "One of the photos is not a still JPEG or PNG image.",
  IMAGE_DECODE_FAILED: "One of the photos is damaged or cut off and could not be read.",
  IMAGE_DIMENSIONS_TOO_LARGE: "One of the photos is too big: each side can be at most 4095 pixels.",
  IMAGE_DIMENSIONS_TOO_SMALL: "One of the photos is too small: each side must be at least 64 pixels.",
  DECOMPRESSION_BOMB: "One of the photos claims far more pixels than a real photo has, so it was refused for safety.",
  FACE_NOT_FOUND: "No face was found in one of the photos.",
  FACE_TOO_SMALL: "The face in one of the photos is too small; use a photo where the face is larger.",
  FACE_COUNT_INVALID: "One of the photos has too many faces; use a photo with one clear face.",
  PROVIDER_REJECTED_IMAGE: "The face-swap provider refused one of the photos.",
  PROVIDER_AUTH_FAILED: "The service could not sign in to its face-swap provider; tell whoever runs this service.",
  PROVIDER_NO_CREDITS: "The service's face-swap provider account has run out of credits; tell whoever runs this service.",
  PROVIDER_TASK_FAILED: "The face-swap provider could not finish this swap.",
  PROVIDER_UNAVAILABLE: "The face-swap provider was unavailable for too long; please try again in a few minutes.",
  PROVIDER_OUTCOME_UNKNOWN:
    "The provider's answer to this swap was lost, so it was stopped to avoid paying twice; please try again.",
  JOB_TIMED_OUT: "The swap took too long and was stopped.",
  RESULT_EXPIRED: "The provider's result had already expired when the service went to fetch it.",
  RESULT_INVALID: "The provider sent back something that is not a usable image.",
  RESULT_UNAVAILABLE: "The provider's result could not be downloaded; please try again.",
  PROVENANCE_FAILED: "The result could not be labelled as AI-generated, so it was not kept.",
  CONSENT_REQUIRED: "This service needs you to confirm that the people in the photos agreed to the swap.",
  DAILY_QUOTA_EXCEEDED: "Today's limit of swaps has been reached; please try again tomorrow.",
  INPUT_INCOMPLETE: "Only one of the two photos arrived, so the swap could not start.",
  INVALID_REQUEST: "The swap request was malformed.",
  INTERNAL_ERROR: "Something went wrong inside the service.",
};

// Messages that name the photo ("... in the template image") let the sentence name it too.
const ROLE_SENTENCES = {
  FACE_NOT_FOUND: (role) => `No face was found in the ${role} photo.`,
  FACE_TOO_SMALL: (role) => `The face in the ${role} photo is too small; use a photo where the face is larger.`,
  FACE_COUNT_INVALID: (role) => `The ${role} photo has too many faces; use a photo with one clear face.`,
  IMAGE_MISSING: (role) => `The ${role} photo never arrived in storage, so the swap could not start.`,
  IMAGE_TOO_LARGE: (role) => `The ${role} photo is larger than 5 MiB.`,
  UNSUPPORTED_IMAGE_TYPE: (role) => `The ${role} photo is not a still JPEG or PNG image.`,
  IMAGE_DECODE_FAILED: (role) => `The ${role} photo is damaged or cut off and could not be read.`,
};

function roleIn(message) {
  const found = /\b(target|template)\b/i.exec(message || "");
  return found ? ROLE_WORDS[found[1].toLowerCase()] : null;
}

/** The sentence for a failed job's `error` ({code, message}). */
export function jobErrorSentence(error) {
  const code = error?.code || "UNKNOWN";
  const role = roleIn(error?.message);
  if (role && ROLE_SENTENCES[code]) return ROLE_SENTENCES[code](role);
  return JOB_ERROR_SENTENCES[code] || `The swap failed (${code}).`;
}

const API_ERROR_SENTENCES = {
  MALFORMED_JSON: "The page sent a request the API could not read.",
  INVALID_JOB_ID: "That is not a valid job id.",
  VALIDATION_ERROR: "The API refused the request as invalid.",
  UNAUTHENTICATED: "The API did not see who is asking; sign in again.",
  FORBIDDEN: "The API does not allow this for your account.",
  JOB_NOT_FOUND: "This job does not exist any more (it may have been deleted).",
  UPLOADS_INCOMPLETE: "Both photos have to be uploaded before the swap can start.",
  JOB_NOT_STARTABLE: "This job failed and cannot be started again; start a new swap.",
  JOB_IN_PROGRESS: "The swap is still running; it can be deleted once it has finished.",
  TOO_MANY_ACTIVE_JOBS: "You already have as many swaps running as allowed; wait for one to finish.",
  DAILY_QUOTA_EXCEEDED: "You have used up today's swaps.",
  THROTTLED: "The API is busy right now; please try again in a moment.",
  INTERNAL_ERROR: "Something went wrong inside the service; please try again.",
};

/** The sentence for an ApiError (see api.js), naming the API and this page's origin where that helps. */
export function apiErrorSentence(error, apiUrl) {
  if (error.status === 0) {
    return (
      `Could not reach the API at ${apiUrl}. Check that it is running and that this page's address ` +
      `(${window.location.origin}) is in the stack's CorsAllowedOrigins.`
    );
  }
  if (error.status === 401) {
    return `The API at ${apiUrl} did not accept the token (401 Unauthorized); paste a current token and connect again.`;
  }
  if (error.status === 403 && !error.code) {
    return `The API at ${apiUrl} refused the request (403 Forbidden); this token is not allowed to use it.`;
  }
  const base = API_ERROR_SENTENCES[error.code] || error.message || `The API answered ${error.status}.`;
  const wait = error.retryAfter ? ` Try again in ${error.retryAfter} seconds.` : "";
  return base + wait;
}
