// The runs API's bodies (console service); re-exported by the package's entry.
export {
  Labels,
  RunSummary,
  RunListQuery,
  RunListPage,
  StepView,
  ApprovalView,
  RunDetail,
  SubmitAccepted,
  CancelBody,
  CancelByLabelBody,
  CancelAccepted,
  ResumeBody,
  ResumeAccepted,
  RerunBody,
  RerunAccepted,
  BatchStats,
  ApiError,
} from './runs.js';
export { RunWebhook } from './webhook.js';
