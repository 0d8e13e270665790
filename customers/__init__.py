"""Customer profiles: fictional demo data, masked views, search by phone, plate, policy or claim."""
