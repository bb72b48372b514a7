// `express4` is an npm alias of Express 4 without its own types; the tests use
// the API Express 4 and 5 share, so Express 5's types describe it well enough.
declare module 'express4' {
  import express from 'express';
  export default express;
}
