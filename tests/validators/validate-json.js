#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// node validate-json.js SCHEMA FILE: FILE against the JSON schema SCHEMA
// with ajv, in the draft the schema declares ($schema). Prints "valid", or
// ajv's errors one a line; exits 0 valid, 1 invalid, 2 on a usage error or
// a draft ajv does not do (tests/e2e/test_validators.py).
'use strict';
const fs = require('fs');

const DRAFTS = {
  'http://json-schema.org/draft-07/schema': 'ajv',
  'https://json-schema.org/draft/2019-09/schema': 'ajv/dist/2019',
  'https://json-schema.org/draft/2020-12/schema': 'ajv/dist/2020',
};

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node validate-json.js SCHEMA FILE');
    return 2;
  }
  const schema = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
  const draft = (schema.$schema || '').replace(/#$/, '');
  if (!DRAFTS[draft]) {
    console.error(`${argv[0]}: schema draft '${schema.$schema}' is not one ajv does here`);
    return 2;
  }
  const Ajv = require(DRAFTS[draft]).default;
  // ajv's default strict mode (a schema's unknown keywords refused);
  // formats ("uri", "date-time", ...) checked, not ignored
  const ajv = new Ajv({ allErrors: true });
  require('ajv-formats').default(ajv);
  const validate = ajv.compile(schema);
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(argv[1], 'utf8'));
  } catch (e) {
    console.log(`${argv[1]}: not JSON: ${e.message}`);
    return 1;
  }
  if (validate(doc)) {
    console.log('valid');
    return 0;
  }
  for (const e of validate.errors)
    console.log(`${argv[1]}: ${e.instancePath || '/'} ${e.message} ` +
                `(${e.schemaPath} ${JSON.stringify(e.params)})`);
  return 1;
}

process.exitCode = main(process.argv.slice(2));
