// fails: UNCAUGHT_EXCEPTION
// message: thrown: {"x":1}
// Describing a rejection runs the reason's toJSON, which is code too: it may reject again.
function main(params, context, done) {
  Promise.reject({ toJSON: function () { Promise.reject(new Error("inner")); return { x: 1 }; } });
}
