from django.http import HttpResponse


def event_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_create(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def conversion(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_detail(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_assign(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_status(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def lead_erase(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
