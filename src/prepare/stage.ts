/*
 * One stage of the pre-upload row pass (src/prepare/): turns a source row into the row that is
 * uploaded, or rejects it with our own error code, so the row goes to the step's dead letters
 * instead of the org. Stages run in order; each sees the previous stage's columns.
 */
export type RowReject = { code: string; message: string };

export type RowStage = {
  /** the columns after this stage, given the columns before it */
  columns(input: readonly string[]): string[];
  /** the row after this stage (in `columns(input)` order), or why it is not sent */
  apply(row: readonly string[]): string[] | RowReject | Promise<string[] | RowReject>;
};

export function isReject(value: string[] | RowReject): value is RowReject {
  return !Array.isArray(value);
}
