// Every selector the browser tests use, by data-testid.
export const tid = (id) => `[data-testid="${id}"]`;
export const functionTable = tid('function-table');
export const functionRow = tid('function-row');
export const search = tid('search');
export const rowCount = tid('row-count');
export const errorMsg = tid('error');
export const cell = (col) => `td[data-col="${col}"]`;
export const header = (col) => `${functionTable} th[data-sort="${col}"]`;
