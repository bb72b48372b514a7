// The WSGI spelling of request headers, both ways: `X-AppEngine-TaskName` is the environ
// key `HTTP_X_APPENGINE_TASKNAME`, and that key the header `x-appengine-taskname`. The
// same dozen names come with every task, so each conversion is kept; bounded, since
// header names are the client's to choose.
const CACHE_LIMIT = 1024;

function cached(convert: (input: string) => string): (input: string) => string {
  const seen = new Map<string, string>();
  return (input) => {
    let output = seen.get(input);
    if (output === undefined) {
      output = convert(input);
      if (seen.size < CACHE_LIMIT) seen.set(input, output);
    }
    return output;
  };
}

/** `X-AppEngine-TaskName` -> `HTTP_X_APPENGINE_TASKNAME`. */
export const environKeyOf = cached((headerName) => 'HTTP_' + headerName.toUpperCase().replace(/-/g, '_'));

/** `HTTP_X_APPENGINE_TASKNAME` -> `x-appengine-taskname`. */
export const headerNameOf = cached((environKey) => environKey.slice(5).toLowerCase().replace(/_/g, '-'));
