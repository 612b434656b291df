'use strict';
// The addon built at install by node-gyp (package.json "install"); lib/durable.ts and
// lib/memory.ts load it through this file.
module.exports = require('./build/Release/zos_native.node');
