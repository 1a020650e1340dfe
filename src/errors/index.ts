export { DMError, isDMError, toDMError, rawCauseOf, type DMErrorJSON } from './dm-error.js';
export { CODES, codeByNumber, type ErrorCodeName, type CodeDef, type ErrorClass, type ErrorScope, type ErrorLevel } from './codes.js';
