// The cheapest meaningful jscodeshift transform: parse the file, change nothing.
module.exports = (file, api) => (api.jscodeshift(file.source), file.source);
