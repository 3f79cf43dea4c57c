// Keep the room list current: RoomBinding (chat/bindings.py) sends every
// change to a room to the sockets on /chat/, on the stream "rooms".
(function () {
  var list = document.getElementById("rooms");
  var bridge = new channels.WebSocketBridge();
  bridge.connect("/chat/");
  bridge.listen();
  bridge.demultiplex("rooms", function (change) {
    var item = list.querySelector('li[data-pk="' + change.pk + '"]');
    if (change.action === "delete") {
      if (item) item.remove();
      return;
    }
    if (!item) {
      item = document.createElement("li");
      item.dataset.pk = change.pk;
      item.appendChild(document.createElement("a"));
      list.appendChild(item);
    }
    item.firstChild.href = "/rooms/" + change.data.name + "/";
    item.firstChild.textContent = change.data.title;
  });
})();
